using System.Xml.Linq;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.VSphere.Soap;

namespace VmEcosystem.Providers.VSphere.Tests;

/// <summary>Options validation, value pairing and fault translation, without a server.</summary>
public sealed class VSphereUnitTests
{
    [Fact]
    public void Every_invalid_setting_is_named_in_the_error()
    {
        var options = new VSphereOptions
        {
            Endpoint = new Uri("http://vcenter.example/sdk"),
            CertificateThumbprint = "12:34",
            PageSize = 0,
            RequestTimeout = TimeSpan.Zero,
        };
        options.Clusters.Add(" ");
        var result = new VSphereOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        foreach (string setting in new[] { "Endpoint", "UserName", "Password", "CertificateThumbprint", "PageSize", "RequestTimeout", "Clusters:0" })
        {
            Assert.Contains(result.Failures!, f => f.Contains($"VmEcosystem:VSphere:{setting}", StringComparison.Ordinal));
        }

        var ok = new VSphereOptions { Endpoint = new Uri("https://vc.example/sdk"), UserName = "u", Password = "p", CertificateThumbprint = new string('a', 64) };
        Assert.True(new VSphereOptionsValidator().Validate(null, ok).Succeeded);
        Assert.True(new VSphereOptionsValidator().Validate(null, new VSphereOptions { Endpoint = new Uri("http://127.0.0.1:8989/sdk"), UserName = "u", Password = "p" }).Succeeded);
    }

    [Fact]
    public void Perf_values_pair_with_the_newest_sample_whatever_the_order_and_dropped_zeros()
    {
        var t0 = DateTimeOffset.Parse("2026-12-03T10:00:00Z");
        DateTimeOffset[] newestFirst = [t0.AddSeconds(40), t0.AddSeconds(20), t0];
        Assert.Equal(3.0, PerfPairing.Newest(newestFirst, [3, 2, 1]));
        Assert.Equal(3.0, PerfPairing.Newest([.. newestFirst.Reverse()], [1, 2, 3]));
        Assert.Equal(0.0, PerfPairing.Newest(newestFirst, [])); // vcsim leaves zero values out
        Assert.Null(PerfPairing.Newest(newestFirst, [5, 6])); // one value missing: which one is unknowable
        Assert.Equal(7.0, PerfPairing.Newest([t0], [7]));
    }

    [Theory]
    [InlineData("ManagedObjectNotFound", HypervisorErrorKind.NotFound)]
    [InlineData("InvalidArgument", HypervisorErrorKind.InvalidArgument)]
    [InlineData("InvalidLogin", HypervisorErrorKind.InvalidArgument)]
    [InlineData("TaskInProgress", HypervisorErrorKind.Conflict)]
    [InlineData("InsufficientResourcesFault", HypervisorErrorKind.InsufficientCapacity)]
    [InlineData("NotAuthenticated", HypervisorErrorKind.Unavailable)]
    [InlineData("MethodNotFound", HypervisorErrorKind.NotSupported)]
    [InlineData("SomethingElse", HypervisorErrorKind.ProviderFault)]
    public void Faults_map_to_the_contracts_error_kinds_with_the_servers_message(string type, HypervisorErrorKind kind)
    {
        var fault = XElement.Parse($"""
            <soapenv:Fault xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
              <faultcode>ServerFaultCode</faultcode><faultstring>the server says why</faultstring>
              <detail><{type}Fault xmlns="urn:vim25" xsi:type="{type}"></{type}Fault></detail>
            </soapenv:Fault>
            """);
        var vim = SoapClient.ReadFault(fault);
        var ex = vim.ToHypervisorException("vsphere", "HotPlug", "VM 'vm-1'");
        Assert.Equal(kind, ex.Kind);
        Assert.Contains("the server says why", ex.Message, StringComparison.Ordinal);
        Assert.Equal(vim.FaultType, ex.NativeCode);
    }
}
