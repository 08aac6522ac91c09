using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;

[assembly: CollectionBehavior(DisableTestParallelization = true)]
[assembly: AssemblyFixture(typeof(VmEcosystem.Providers.VSphere.Tests.VcsimBinaries))]

namespace VmEcosystem.Providers.VSphere.Tests;

/// <summary>
/// The vcsim and govc binaries. Built by <c>setup-vcsim.sh</c> (which <c>.ci/run</c> calls) when missing; tests skip
/// with the reason when they cannot be built, and fail instead when VMECO_REQUIRE_VCSIM=1 (CI).
/// </summary>
public sealed class VcsimBinaries : IAsyncLifetime
{
    public string Prefix { get; } = Environment.GetEnvironmentVariable("VMECO_VCSIM_PREFIX") ?? "/tmp/vmeco-vcsim";

    public string Vcsim => Path.Combine(Prefix, "bin", "vcsim");

    public string Govc => Path.Combine(Prefix, "bin", "govc");

    public string? SkipReason { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (File.Exists(Vcsim) && File.Exists(Govc))
        {
            return;
        }

        var (code, output) = await RunAsync("bash", [Path.Combine(AppContext.BaseDirectory, "setup-vcsim.sh")], TimeSpan.FromMinutes(10));
        if (code != 0 || !File.Exists(Vcsim))
        {
            SkipReason = $"vcsim could not be built by setup-vcsim.sh (exit {code}): {output[Math.Max(0, output.Length - 400)..]}";
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Skips (or, in CI, fails) when vcsim is not available.</summary>
    public void RequireVcsim()
    {
        if (SkipReason is null)
        {
            return;
        }

        Assert.False(Environment.GetEnvironmentVariable("VMECO_REQUIRE_VCSIM") == "1", SkipReason);
        Assert.Skip(SkipReason);
    }

    /// <summary>Starts a fresh vcsim: two clusters of three hosts with two VMs each, plus a standalone host.</summary>
    public async Task<VcsimServer> StartAsync(string? userName = null, string? password = null)
    {
        RequireVcsim();
        var args = new List<string> { "-l", "127.0.0.1:0", "-cluster", "2", "-host", "3", "-vm", "2" };
        if (userName is not null)
        {
            args.AddRange(["-username", userName, "-password", password ?? ""]);
        }

        var start = new ProcessStartInfo(Vcsim) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        args.ForEach(start.ArgumentList.Add);
        var process = Process.Start(start) ?? throw new InvalidOperationException("vcsim did not start.");
        _ = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (await process.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            // export GOVC_URL=https://user:pass@127.0.0.1:36945/sdk GOVC_SIM_PID=13183
            int at = line.IndexOf("@127.0.0.1:", StringComparison.Ordinal);
            if (at > 0)
            {
                int end = line.IndexOf("/sdk", at, StringComparison.Ordinal);
                int port = int.Parse(line[(at + "@127.0.0.1:".Length)..end], System.Globalization.CultureInfo.InvariantCulture);
                var server = new VcsimServer(process, port, Govc);
                server.Thumbprint = await ThumbprintAsync(port);
                return server;
            }
        }

        process.Kill();
        throw new InvalidOperationException("vcsim exited without printing its address.");
    }

    /// <summary>The SHA-256 thumbprint of the server's self-signed certificate, read from a TLS handshake.</summary>
    private static async Task<string> ThumbprintAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        string? thumb = null;
        await using var ssl = new SslStream(tcp.GetStream(), false, (_, cert, _, _) =>
        {
            thumb = cert is null ? null : Convert.ToHexString(SHA256.HashData(cert.GetRawCertData()));
            return true;
        });
        await ssl.AuthenticateAsClientAsync("127.0.0.1");
        return thumb ?? throw new InvalidOperationException("vcsim sent no certificate.");
    }

    internal static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, IDictionary<string, string>? env = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>One running vcsim, stopped by PID on dispose.</summary>
public sealed class VcsimServer(Process process, int port, string govc) : IAsyncDisposable
{
    public int Port { get; } = port;

    public Uri Endpoint => new($"https://127.0.0.1:{Port}/sdk");

    public string Thumbprint { get; internal set; } = "";

    /// <summary>Runs govc against this server (outside the provider), returning its output; fails on a non-zero exit.</summary>
    public async Task<string> GovcAsync(params string[] args)
    {
        var (code, output) = await VcsimBinaries.RunAsync(govc, args, TimeSpan.FromSeconds(60), new Dictionary<string, string>
        {
            ["GOVC_URL"] = $"https://user:pass@127.0.0.1:{Port}/sdk",
            ["GOVC_INSECURE"] = "1",
        });
        Assert.True(code == 0, $"govc {string.Join(' ', args)} failed ({code}): {output}");
        return output;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }
}
