using System.Runtime.InteropServices;

namespace VmEcosystem.IO;

/// <summary>
/// Reads input files defensively: only regular files (a FIFO would block the reader for ever, a device such as
/// <c>/dev/zero</c> never ends), at most a stated size (checked before reading and again while reading, in case the
/// file grows). Symbolic links are followed to what they point at.
/// </summary>
internal static partial class InputFile
{
    /// <summary>Why <paramref name="path"/> cannot be read as an input file of at most <paramref name="maxBytes"/>, or null.</summary>
    public static string? Problem(string path, long maxBytes)
    {
        FileSystemInfo info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            try
            {
                info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
            }
            catch (IOException ex)
            {
                return $"'{path}' is a link that cannot be followed ({ex.Message})";
            }
        }

        if (Directory.Exists(info.FullName))
        {
            return $"'{path}' is a folder, not a file";
        }

        if (!info.Exists)
        {
            return $"'{path}' does not exist";
        }

        if (KindOf(info.FullName) is { } kind && kind != "regular file")
        {
            return $"'{path}' is a {kind}, not a regular file";
        }

        long length = ((FileInfo)info).Length;
        return length > maxBytes ? $"'{path}' is {length} bytes; at most {maxBytes} are read" : null;
    }

    /// <summary>Reads a whole regular file of at most <paramref name="maxBytes"/>; throws <see cref="IOException"/> naming the problem otherwise.</summary>
    public static byte[] ReadAllBytes(string path, long maxBytes)
    {
        if (Problem(path, maxBytes) is { } problem)
        {
            throw new IOException(problem);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new IOException($"'{path}' grew past {maxBytes} bytes while it was read");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Reads a regular file of at most <paramref name="maxBytes"/> as UTF-8 lines.</summary>
    public static string[] ReadAllLines(string path, long maxBytes)
    {
        using var reader = new StreamReader(new MemoryStream(ReadAllBytes(path, maxBytes)));
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        return [.. lines];
    }

    // The file type from stat(2) where .NET does not expose it (it reports FIFOs and devices as "Normal" files).
    // Linux on x64 and arm64 only, where the offset of st_mode in struct stat is known; elsewhere null (not checked).
    private static string? KindOf(string path)
    {
        int offset = !OperatingSystem.IsLinux() ? -1 : RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 24,
            Architecture.Arm64 => 16,
            _ => -1,
        };
        if (offset < 0)
        {
            return null;
        }

        var buffer = new byte[256];
        if (Stat(path, buffer) != 0)
        {
            return null;
        }

        uint mode = BitConverter.ToUInt32(buffer, offset) & 0xF000;
        return mode switch
        {
            0x8000 => "regular file",
            0x4000 => "folder",
            0x1000 => "FIFO (named pipe)",
            0x2000 => "character device",
            0x6000 => "block device",
            0xC000 => "socket",
            _ => "special file",
        };
    }

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Stat(string path, byte[] buffer);
}
