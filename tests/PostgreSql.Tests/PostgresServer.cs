using System.Diagnostics;
using Npgsql;

[assembly: AssemblyFixture(typeof(VmEcosystem.PostgreSql.Tests.PostgresServer))]

namespace VmEcosystem.PostgreSql.Tests;

/// <summary>
/// A private PostgreSQL (127.0.0.1:55432 unless <c>VMECO_PG_CONNECTION</c> names another): uses the server
/// <c>.ci/run</c> started; when none answers (a developer's machine), starts one with <c>setup-postgres.sh</c> and
/// stops it afterwards. Tests skip with the reason only when it cannot be started, and fail instead when
/// <c>VMECO_REQUIRE_POSTGRES=1</c> (CI). Each test works in its own schema.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private bool _startedHere;

    public string ConnectionString { get; } =
        Environment.GetEnvironmentVariable("VMECO_PG_CONNECTION") ?? "Host=127.0.0.1;Port=55432;Username=postgres;Database=vmeco;Timeout=5";

    public string? SkipReason { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (await ReachableAsync())
        {
            return;
        }

        try
        {
            var (code, output) = await RunAsync(Path.Combine(AppContext.BaseDirectory, "setup-postgres.sh"));
            _startedHere = true;
            if (code != 0 || !await ReachableAsync())
            {
                SkipReason = $"PostgreSQL could not be started by setup-postgres.sh (exit {code}): {output[Math.Max(0, output.Length - 400)..]}";
            }
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            SkipReason = $"PostgreSQL could not be started: {ex.Message}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_startedHere)
        {
            await RunAsync(Path.Combine(AppContext.BaseDirectory, "setup-postgres.sh"), "stop");
        }
    }

    /// <summary>Skips (or, in CI, fails) when the server is not available.</summary>
    public void Require()
    {
        if (SkipReason is null)
        {
            return;
        }

        Assert.False(Environment.GetEnvironmentVariable("VMECO_REQUIRE_POSTGRES") == "1", SkipReason);
        Assert.Skip(SkipReason);
    }

    /// <summary>A fresh schema name for one test.</summary>
    public static string NewSchema() => "t_" + Guid.NewGuid().ToString("N")[..20];

    /// <summary>Runs one SQL command (test set-up and checks only).</summary>
    public async Task<object?> ScalarAsync(string sql)
    {
        await using var source = NpgsqlDataSource.Create(ConnectionString);
        await using var command = source.CreateCommand(sql);
        return await command.ExecuteScalarAsync();
    }

    private async Task<bool> ReachableAsync()
    {
        try
        {
            await ScalarAsync("SELECT 1");
            return true;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("Cannot start bash.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
