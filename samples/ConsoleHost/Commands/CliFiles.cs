using VmEcosystem.IO;
using VmEcosystem.Sqlite;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>Limits on sizes the sample accepts, so a typo gives a clear line instead of running out of memory.</summary>
internal static class CliLimits
{
    public const int MaxHosts = 100_000;

    public const int MaxVms = 1_000_000;

    /// <summary>Synthetic VMs of a simulated day (288 samples each, plus the simulator's state).</summary>
    public const int MaxSimulatedVms = 200_000;
}

/// <summary>Checks of the files a command writes, made before the run so a bad path costs nothing.</summary>
internal static class CliFiles
{
    /// <summary>The file can be written: its folder exists and it is (or will be) a regular file we may write.</summary>
    public static void CheckOutput(string path, string option)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new ArgumentException($"{option}: the folder '{folder}' does not exist.");
        }

        bool existed = File.Exists(path) || Directory.Exists(path);
        if (existed && InputFile.Problem(path, long.MaxValue) is { } problem)
        {
            throw new ArgumentException($"{option}: {problem}.");
        }

        try
        {
            using (new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite))
            {
            }

            if (!existed)
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{option}: '{path}' cannot be written: {ex.Message}", ex);
        }
    }

    /// <summary>The audit database can be opened (created when missing): a regular file that is a SQLite database.</summary>
    public static void CheckAuditStore(string path)
    {
        CheckOutput(path, "--audit");
        try
        {
            using var store = new SqliteAuditStore(path);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--audit: '{path}' cannot be used as the audit database: {ex.Message}", ex);
        }
    }
}
