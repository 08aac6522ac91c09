using System.Runtime.InteropServices;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt.Tests;

/// <summary>The native layer's pure parts: struct layouts, typed-parameter marshalling, error classification, XML.</summary>
public sealed class NativeLayerTests
{
    [Fact]
    public unsafe void Typed_parameter_has_libvirts_96_byte_layout()
    {
        Assert.Equal(96, sizeof(TypedParameter));
        Assert.Equal(80, (int)Marshal.OffsetOf<TypedParameter>(nameof(TypedParameter.Type)));
        Assert.Equal(88, (int)Marshal.OffsetOf<TypedParameter>(nameof(TypedParameter.Bits)));
        Assert.Equal(88, sizeof(LibvirtNative.NodeStat));
        Assert.Equal(64, sizeof(LibvirtNative.NodeInfo));
        Assert.Equal(40, sizeof(LibvirtNative.DomainInfo));
        Assert.Equal(24, sizeof(LibvirtNative.DomainStatsRecord));
    }

    [Fact]
    public unsafe void Typed_parameters_round_trip_with_the_exact_types_written()
    {
        using var list = new TypedParameterList()
            .AddULong("cpu_shares", 512)
            .AddLong("global_quota", -1)
            .AddUInt("inbound.average", 12_207)
            .AddString("migrate_uri", "tcp://127.0.0.1");
        var (numbers, types, uri) = list.Invoke((p, n) =>
        {
            var span = new ReadOnlySpan<TypedParameter>((void*)p, n);
            return (TypedParameterReader.Numbers(span), span.ToArray().Select(x => x.Type).ToArray(), span[3].Text);
        });
        Assert.Equal(512, numbers["cpu_shares"]);
        Assert.Equal(-1, numbers["global_quota"]);
        Assert.Equal(12_207, numbers["inbound.average"]);
        Assert.False(numbers.ContainsKey("migrate_uri"));
        Assert.Equal([TypedParameter.TypeULLong, TypedParameter.TypeLLong, TypedParameter.TypeUInt, TypedParameter.TypeString], types);
        Assert.Equal("tcp://127.0.0.1", uri);
    }

    [Fact]
    public void A_parameter_name_longer_than_libvirts_field_is_rejected()
    {
        using var list = new TypedParameterList();
        Assert.Throws<ArgumentException>(() => list.AddULong(new string('x', 80), 1));
    }

    [Theory]
    [InlineData(42, HypervisorErrorKind.NotFound)]
    [InlineData(3, HypervisorErrorKind.NotSupported)]
    [InlineData(74, HypervisorErrorKind.NotSupported)]
    [InlineData(8, HypervisorErrorKind.InvalidArgument)]
    [InlineData(55, HypervisorErrorKind.Conflict)]
    [InlineData(38, HypervisorErrorKind.Unavailable)]
    [InlineData(39, HypervisorErrorKind.Unavailable)]
    [InlineData(68, HypervisorErrorKind.Timeout)]
    [InlineData(1, HypervisorErrorKind.ProviderFault)]
    public void Libvirt_error_codes_map_to_stable_kinds(int code, HypervisorErrorKind kind)
    {
        Assert.Equal(kind, LibvirtErrors.Classify(code));
        var ex = LibvirtErrors.ToHypervisorException(new LibvirtException(code, 10, "boom"), "Doing it");
        Assert.Equal(kind, ex.Kind);
        Assert.Equal(LibvirtErrors.NameOf(code), ex.NativeCode);
        Assert.Contains("Doing it: boom", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Domain_devices_are_read_from_the_live_xml()
    {
        var devices = DomainDevices.Parse("""
            <domain><devices>
              <disk type='file' device='disk'><target dev='vda'/></disk>
              <disk type='file' device='cdrom'><target dev='sda'/></disk>
              <disk type='file'><target dev='vdb'/></disk>
              <interface type='ethernet'><target dev='vnet3'/></interface>
              <interface type='network'><mac address='52:54:00:aa:bb:cc'/></interface>
            </devices></domain>
            """);
        Assert.Equal(["vda", "vdb"], devices.Disks);
        Assert.Equal(["vnet3", "52:54:00:aa:bb:cc"], devices.Interfaces);
    }

    [Fact]
    public void Credentials_in_a_uri_are_redacted_from_messages()
    {
        const string uri = "qemu+tcp://admin:s3cret@10.0.0.5/system";
        string text = LibvirtUris.Redact("unable to connect to admin:s3cret@10.0.0.5", uri);
        Assert.DoesNotContain("s3cret", text, StringComparison.Ordinal);
        Assert.Contains("10.0.0.5", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_libvirt_message_loses_the_user_information_of_any_uri_and_every_configured_secret()
    {
        // Safety defect 7: a peer-to-peer migration error names the destination's URI, which redaction against the
        // connection's own URI missed.
        string p2p = "Failed to connect to remote libvirt URI qemu+tcp://operator:Pa55%21word@kvm-02:16509/system: Connection refused";
        string redacted = LibvirtUris.RedactAll(p2p);
        Assert.DoesNotContain("operator", redacted, StringComparison.Ordinal);
        Assert.DoesNotContain("Pa55", redacted, StringComparison.Ordinal);
        Assert.Contains("qemu+tcp://***@kvm-02:16509/system", redacted, StringComparison.Ordinal);

        LibvirtUris.RegisterSecrets("qemu+ssh://deploy:t0p%40secret@kvm-03/system");
        Assert.Equal("authentication failed for *** (password ***)", LibvirtUris.RedactAll("authentication failed for deploy:t0p@secret (password t0p@secret)"));
        Assert.Equal("no credentials here", LibvirtUris.RedactAll("no credentials here"));
    }
}
