using System.Xml.Linq;
using static VmEcosystem.Providers.VSphere.Soap.Vim;

namespace VmEcosystem.Providers.VSphere.Soap;

/// <summary>One object's properties as the property collector returned them (path to <c>val</c> element).</summary>
internal sealed record VimObject(Mor Obj, IReadOnlyDictionary<string, XElement> Props)
{
    public string? Text(string path) => Props.TryGetValue(path, out var v) ? v.Value : null;

    public long? Long(string path) => Props.TryGetValue(path, out var v) && long.TryParse(v.Value, System.Globalization.CultureInfo.InvariantCulture, out long n) ? n : null;

    public bool? Bool(string path) => Props.TryGetValue(path, out var v) && bool.TryParse(v.Value, out bool b) ? b : null;

    public Mor? Ref(string path) => Props.TryGetValue(path, out var v) ? Mor.From(v) : null;

    public XElement? Value(string path) => Props.TryGetValue(path, out var v) ? v : null;

    /// <summary>Reads one <c>objects</c> element of a RetrievePropertiesEx answer.</summary>
    public static VimObject Read(XElement objects)
    {
        var props = new Dictionary<string, XElement>(StringComparer.Ordinal);
        foreach (var p in objects.Children("propSet"))
        {
            if (p.Child("name")?.Value is { } name && p.Child("val") is { } val)
            {
                props[name] = val;
            }
        }

        foreach (var missing in objects.Children("missingSet"))
        {
            var fault = missing.Child("fault")?.Child("fault");
            string type = fault?.Attribute(Xsi + "type")?.Value ?? "";
            if (type.EndsWith("ManagedObjectNotFound", StringComparison.Ordinal))
            {
                throw new VimFault("ManagedObjectNotFound", $"The object {Mor.From(objects.Child("obj")!)} has been deleted or was not completely created.");
            }
        }

        return new VimObject(Mor.From(objects.Child("obj")!), props);
    }
}

/// <summary>
/// Reads properties through the property collector: every object of some types under a folder (a temporary
/// <c>ContainerView</c>, paged with <c>RetrievePropertiesEx</c>/<c>ContinueRetrievePropertiesEx</c>), or one object.
/// Views are destroyed after each read: they belong to the session, and a re-login would orphan a cached one.
/// </summary>
internal sealed class PropertyReader(VimSession session, int pageSize)
{
    /// <summary>Pages read by the last <see cref="ReadAllAsync"/> (tests check paging happens).</summary>
    public int LastPageCount { get; private set; }

    public async Task<IReadOnlyList<VimObject>> ReadAllAsync(IReadOnlyDictionary<string, string[]> pathsByType, CancellationToken cancellationToken)
    {
        var createView = await session.CallAsync(c => E("CreateContainerView", This(c.ViewManager), Ref("container", c.RootFolder),
            pathsByType.Keys.Select(t => E("type", t)), E("recursive", "true")), idempotent: false, cancellationToken).ConfigureAwait(false);
        var view = Mor.From(createView.Child("returnval")!);
        try
        {
            var objects = new List<VimObject>();
            var page = await session.CallAsync(c => E("RetrievePropertiesEx", This(c.PropertyCollector),
                E("specSet",
                    pathsByType.Select(kv => E("propSet", E("type", kv.Key), kv.Value.Select(p => E("pathSet", p)))),
                    E("objectSet", Ref("obj", view), E("skip", "true"),
                        Typed("selectSet", "TraversalSpec", E("name", "view"), E("type", "ContainerView"), E("path", "view"), E("skip", "false")))),
                E("options", E("maxObjects", Text(pageSize)))), idempotent: true, cancellationToken).ConfigureAwait(false);
            int pages = 0;
            for (var result = page.Child("returnval"); result is not null;)
            {
                pages++;
                objects.AddRange(result.Children("objects").Select(VimObject.Read));
                if (result.Child("token")?.Value is not { Length: > 0 } token)
                {
                    break;
                }

                var next = await session.CallAsync(c => E("ContinueRetrievePropertiesEx", This(c.PropertyCollector), E("token", token)),
                    idempotent: false, cancellationToken).ConfigureAwait(false);
                result = next.Child("returnval");
            }

            LastPageCount = pages;
            return objects;
        }
        finally
        {
            try
            {
                await session.CallAsync(_ => E("DestroyView", This(view)), idempotent: false, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is VimFault or HttpRequestException or TimeoutException)
            {
                // The server drops the view with the session anyway.
            }
        }
    }

    /// <summary>Properties of one object; a deleted or unknown object is a <c>ManagedObjectNotFound</c> fault.</summary>
    public async Task<VimObject> ReadOneAsync(Mor obj, string[] paths, CancellationToken cancellationToken)
    {
        var r = await session.CallAsync(c => E("RetrievePropertiesEx", This(c.PropertyCollector),
            E("specSet", E("propSet", E("type", obj.Type), paths.Select(p => E("pathSet", p))), E("objectSet", Ref("obj", obj), E("skip", "false"))),
            E("options")), idempotent: true, cancellationToken).ConfigureAwait(false);
        var objects = r.Child("returnval")?.Children("objects").FirstOrDefault()
            ?? throw new VimFault("ManagedObjectNotFound", $"The object {obj} does not exist.");
        return VimObject.Read(objects);
    }
}
