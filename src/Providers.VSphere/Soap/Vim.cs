using System.Globalization;
using System.Xml.Linq;

namespace VmEcosystem.Providers.VSphere.Soap;

/// <summary>A vSphere managed object reference (<c>VirtualMachine:vm-117</c>).</summary>
/// <param name="Type">The managed object type.</param>
/// <param name="Value">The server's identifier.</param>
internal readonly record struct Mor(string Type, string Value)
{
    public override string ToString() => $"{Type}:{Value}";

    /// <summary>Reads a reference element (<c>&lt;x type="HostSystem"&gt;host-34&lt;/x&gt;</c>).</summary>
    public static Mor From(XElement element) =>
        new((string?)element.Attribute("type") ?? (string?)element.Attribute(Vim.Xsi + "type") ?? "", element.Value.Trim());
}

/// <summary>Names and builders for the few urn:vim25 elements the provider sends.</summary>
internal static class Vim
{
    public static readonly XNamespace Ns = "urn:vim25";
    public static readonly XNamespace Xsi = "http://www.w3.org/2001/XMLSchema-instance";
    public static readonly XNamespace SoapEnv = "http://schemas.xmlsoap.org/soap/envelope/";

    /// <summary>An element in urn:vim25.</summary>
    public static XElement E(string name, params object?[] content) => new(Ns + name, content);

    /// <summary>A reference element (<c>_this</c>, <c>obj</c>, <c>host</c>, ...).</summary>
    public static XElement Ref(string name, Mor mor) => new(Ns + name, new XAttribute("type", mor.Type), mor.Value);

    /// <summary>The <c>_this</c> argument.</summary>
    public static XElement This(Mor mor) => Ref("_this", mor);

    /// <summary>An element with an <c>xsi:type</c> (a derived type in a base-typed field).</summary>
    public static XElement Typed(string name, string type, params object?[] content) =>
        new(Ns + name, new XAttribute(Xsi + "type", type), content);

    public static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The child named <paramref name="name"/> in urn:vim25, or null.</summary>
    public static XElement? Child(this XElement element, string name) => element.Element(Ns + name);

    /// <summary>The children named <paramref name="name"/> in urn:vim25.</summary>
    public static IEnumerable<XElement> Children(this XElement element, string name) => element.Elements(Ns + name);

    /// <summary>The text of the descendant path (<c>summary/hardware/numCpuCores</c>), or null.</summary>
    public static string? Path(this XElement element, string path)
    {
        XElement? current = element;
        foreach (var part in path.Split('/'))
        {
            current = current?.Element(Ns + part);
        }

        return current?.Value;
    }

    public static long? Long(this XElement element, string path) =>
        element.Path(path) is { } s && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : null;

    public static bool? Bool(this XElement element, string path) =>
        element.Path(path) is { } s && bool.TryParse(s, out bool v) ? v : null;
}
