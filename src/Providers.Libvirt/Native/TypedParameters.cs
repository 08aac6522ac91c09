using System.Runtime.InteropServices;
using System.Text;

namespace VmEcosystem.Providers.Libvirt.Native;

/// <summary>
/// <c>virTypedParameter</c>: a 80-byte NUL-terminated field name, an <c>int</c> type, and an 8-byte value union at
/// offset 88, 96 bytes in all.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 96)]
internal unsafe struct TypedParameter
{
    public const int FieldLength = 80;
    public const int TypeInt = 1, TypeUInt = 2, TypeLLong = 3, TypeULLong = 4, TypeDouble = 5, TypeBoolean = 6, TypeString = 7;

    [FieldOffset(0)]
    public fixed byte Field[FieldLength];

    [FieldOffset(80)]
    public int Type;

    [FieldOffset(88)]
    public long Bits;

    [FieldOffset(88)]
    public double DoubleValue;

    [FieldOffset(88)]
    public IntPtr StringValue;

    public readonly string Name
    {
        get
        {
            fixed (byte* f = Field)
            {
                return LibvirtNative.FieldString(f, FieldLength);
            }
        }
    }

    /// <summary>The value as a number (strings are NaN), so callers need not care which integer width libvirt chose.</summary>
    public readonly double Number => Type switch
    {
        TypeInt => (int)Bits,
        TypeUInt => (uint)Bits,
        TypeLLong => Bits,
        TypeULLong => (ulong)Bits,
        TypeDouble => DoubleValue,
        TypeBoolean => (byte)Bits,
        _ => double.NaN,
    };

    /// <summary>The value as a string (numbers formatted invariantly).</summary>
    public readonly string? Text => Type == TypeString ? Marshal.PtrToStringUTF8(StringValue) : Number.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public void SetName(string name)
    {
        int bytes = Encoding.UTF8.GetByteCount(name);
        if (bytes >= FieldLength)
        {
            throw new ArgumentException($"Typed parameter name '{name}' is longer than {FieldLength - 1} bytes.", nameof(name));
        }

        fixed (byte* f = Field)
        {
            var span = new Span<byte>(f, FieldLength);
            span.Clear();
            Encoding.UTF8.GetBytes(name, span);
        }
    }
}

/// <summary>
/// Builds a typed-parameter array for a libvirt call and frees the strings it allocated. Values are written with the
/// exact type libvirt documents for each field: libvirt rejects a ULLONG where it expects a UINT.
/// </summary>
internal sealed unsafe class TypedParameterList : IDisposable
{
    private readonly List<TypedParameter> _items = [];
    private readonly List<IntPtr> _strings = [];

    public int Count => _items.Count;

    public TypedParameterList AddULong(string name, ulong value) => Add(name, TypedParameter.TypeULLong, unchecked((long)value));

    public TypedParameterList AddLong(string name, long value) => Add(name, TypedParameter.TypeLLong, value);

    public TypedParameterList AddUInt(string name, uint value) => Add(name, TypedParameter.TypeUInt, value);

    public TypedParameterList AddString(string name, string value)
    {
        IntPtr s = Marshal.StringToCoTaskMemUTF8(value);
        _strings.Add(s);
        var p = default(TypedParameter);
        p.SetName(name);
        p.Type = TypedParameter.TypeString;
        p.StringValue = s;
        _items.Add(p);
        return this;
    }

    /// <summary>Calls <paramref name="call"/> with a pinned array of the parameters.</summary>
    public T Invoke<T>(Func<IntPtr, int, T> call)
    {
        var array = _items.ToArray();
        fixed (TypedParameter* p = array)
        {
            return call((IntPtr)p, array.Length);
        }
    }

    public void Dispose()
    {
        foreach (var s in _strings)
        {
            Marshal.FreeCoTaskMem(s);
        }

        _strings.Clear();
    }

    private TypedParameterList Add(string name, int type, long bits)
    {
        var p = default(TypedParameter);
        p.SetName(name);
        p.Type = type;
        p.Bits = bits;
        _items.Add(p);
        return this;
    }
}

/// <summary>Reads typed parameters into a name→value map.</summary>
internal static unsafe class TypedParameterReader
{
    public static Dictionary<string, double> Numbers(IntPtr parameters, int count)
    {
        var map = new Dictionary<string, double>(count, StringComparer.Ordinal);
        var p = (TypedParameter*)parameters;
        for (int i = 0; i < count; i++)
        {
            if (p[i].Type != TypedParameter.TypeString)
            {
                map[p[i].Name] = p[i].Number;
            }
        }

        return map;
    }

    public static Dictionary<string, double> Numbers(ReadOnlySpan<TypedParameter> parameters)
    {
        var map = new Dictionary<string, double>(parameters.Length, StringComparer.Ordinal);
        foreach (ref readonly var p in parameters)
        {
            if (p.Type != TypedParameter.TypeString)
            {
                map[p.Name] = p.Number;
            }
        }

        return map;
    }
}
