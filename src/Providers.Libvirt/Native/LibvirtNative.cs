using System.Runtime.InteropServices;

namespace VmEcosystem.Providers.Libvirt.Native;

/// <summary>
/// The slice of libvirt's C API (<c>libvirt.so.0</c>, Debian package <c>libvirt0</c>) the provider uses, bound with
/// source-generated <see cref="LibraryImportAttribute"/> stubs. Pointers stay raw here; the rest of the provider
/// only sees <see cref="ConnectionHandle"/>/<see cref="DomainHandle"/> and <see cref="LibvirtException"/>.
/// </summary>
internal static partial class LibvirtNative
{
    public const string Library = "libvirt.so.0";

    // Domain states (virDomainState).
    public const int DomainRunning = 1;
    public const int DomainBlocked = 2;
    public const int DomainPaused = 3;
    public const int DomainShutoff = 5;

    // Flags.
    public const uint AffectLive = 1;
    public const uint VcpuMaximum = 4;
    public const uint ListDomainsActive = 1;
    public const uint StatsState = 1, StatsCpuTotal = 2, StatsBalloon = 4, StatsVcpu = 8, StatsInterface = 16, StatsBlock = 32, StatsDirtyRate = 512;
    public const int DirtyRateMeasuring = 1, DirtyRateMeasured = 2;
    public const uint MigrateLive = 1, MigratePeerToPeer = 2, MigratePersistDest = 8, MigrateUndefineSource = 16, MigrateUnsafe = 512;
    public const uint JobStatsCompleted = 1;
    public const int EventIdLifecycle = 0;
    public const int NodeCpuStatsAllCpus = -1;
    public const int NodeMemoryStatsAllCells = -1;
    public const ulong MemoryParamUnlimited = 9007199254740991UL;

    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct NodeInfo
    {
        public fixed byte Model[32];
        public ulong MemoryKiB;
        public uint Cpus;
        public uint Mhz;
        public uint Nodes;
        public uint Sockets;
        public uint Cores;
        public uint Threads;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct DomainInfo
    {
        public byte State;
        public ulong MaxMemKiB;
        public ulong MemoryKiB;
        public ushort VirtCpus;
        public ulong CpuTimeNs;
    }

    /// <summary><c>virNodeCPUStats</c> and <c>virNodeMemoryStats</c>: field[80] + unsigned long long.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct NodeStat
    {
        public fixed byte Field[80];
        public ulong Value;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct DomainStatsRecord
    {
        public IntPtr Domain;
        public IntPtr Params;
        public int ParamCount;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Error
    {
        public int Code;
        public int Domain;
        public IntPtr Message;
    }

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr virConnectOpen(string? name);

    [LibraryImport(Library)]
    public static partial int virConnectClose(IntPtr conn);

    [LibraryImport(Library)]
    public static partial int virConnectIsAlive(ConnectionHandle conn);

    [LibraryImport(Library)]
    public static partial int virConnectSetKeepAlive(ConnectionHandle conn, int interval, uint count);

    [LibraryImport(Library)]
    public static partial IntPtr virConnectGetType(ConnectionHandle conn);

    [LibraryImport(Library)]
    public static partial IntPtr virConnectGetHostname(ConnectionHandle conn);

    [LibraryImport(Library)]
    public static partial int virNodeGetInfo(ConnectionHandle conn, out NodeInfo info);

    [LibraryImport(Library)]
    public static unsafe partial int virNodeGetCPUStats(ConnectionHandle conn, int cpuNum, NodeStat* stats, ref int nparams, uint flags);

    [LibraryImport(Library)]
    public static unsafe partial int virNodeGetMemoryStats(ConnectionHandle conn, int cellNum, NodeStat* stats, ref int nparams, uint flags);

    [LibraryImport(Library)]
    public static partial int virConnectListAllDomains(ConnectionHandle conn, out IntPtr domains, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr virDomainLookupByName(ConnectionHandle conn, string name);

    [LibraryImport(Library)]
    public static partial int virDomainFree(IntPtr domain);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr virDomainDefineXML(ConnectionHandle conn, string xml);

    [LibraryImport(Library)]
    public static partial int virDomainCreate(DomainHandle domain);

    [LibraryImport(Library)]
    public static partial int virDomainDestroy(DomainHandle domain);

    [LibraryImport(Library)]
    public static partial int virDomainUndefine(DomainHandle domain);

    [LibraryImport(Library)]
    public static partial int virDomainIsActive(DomainHandle domain);

    [LibraryImport(Library)]
    public static partial int virDomainRef(IntPtr domain);

    [LibraryImport(Library)]
    public static partial int virDomainStartDirtyRateCalc(IntPtr domain, int seconds, uint flags);

    [LibraryImport(Library)]
    public static partial IntPtr virDomainGetName(DomainHandle domain);

    [LibraryImport(Library)]
    public static partial IntPtr virDomainGetName(IntPtr domain);

    [LibraryImport(Library)]
    public static unsafe partial int virDomainGetUUIDString(DomainHandle domain, byte* buffer);

    [LibraryImport(Library)]
    public static partial int virDomainGetInfo(DomainHandle domain, out DomainInfo info);

    [LibraryImport(Library)]
    public static partial int virDomainIsPersistent(DomainHandle domain);

    [LibraryImport(Library)]
    public static partial int virDomainGetVcpusFlags(DomainHandle domain, uint flags);

    [LibraryImport(Library)]
    public static partial int virDomainSetVcpusFlags(DomainHandle domain, uint count, uint flags);

    [LibraryImport(Library)]
    public static partial int virDomainSetMemoryFlags(DomainHandle domain, ulong memoryKiB, uint flags);

    [LibraryImport(Library)]
    public static partial IntPtr virDomainGetXMLDesc(DomainHandle domain, uint flags);

    [LibraryImport(Library)]
    public static partial int virConnectGetAllDomainStats(ConnectionHandle conn, uint stats, out IntPtr records, uint flags);

    [LibraryImport(Library)]
    public static partial void virDomainStatsRecordListFree(IntPtr records);

    [LibraryImport(Library)]
    public static partial IntPtr virDomainGetSchedulerType(DomainHandle domain, out int nparams);

    [LibraryImport(Library)]
    public static unsafe partial int virDomainGetSchedulerParametersFlags(DomainHandle domain, TypedParameter* parameters, ref int nparams, uint flags);

    [LibraryImport(Library)]
    public static unsafe partial int virDomainSetSchedulerParametersFlags(DomainHandle domain, TypedParameter* parameters, int nparams, uint flags);

    [LibraryImport(Library)]
    public static unsafe partial int virDomainGetBlkioParameters(DomainHandle domain, TypedParameter* parameters, ref int nparams, uint flags);

    [LibraryImport(Library)]
    public static unsafe partial int virDomainSetBlkioParameters(DomainHandle domain, TypedParameter* parameters, int nparams, uint flags);

    [LibraryImport(Library)]
    public static unsafe partial int virDomainGetMemoryParameters(DomainHandle domain, TypedParameter* parameters, ref int nparams, uint flags);

    [LibraryImport(Library)]
    public static unsafe partial int virDomainSetMemoryParameters(DomainHandle domain, TypedParameter* parameters, int nparams, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int virDomainGetBlockIoTune(DomainHandle domain, string disk, TypedParameter* parameters, ref int nparams, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int virDomainSetBlockIoTune(DomainHandle domain, string disk, TypedParameter* parameters, int nparams, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int virDomainGetInterfaceParameters(DomainHandle domain, string device, TypedParameter* parameters, ref int nparams, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int virDomainSetInterfaceParameters(DomainHandle domain, string device, TypedParameter* parameters, int nparams, uint flags);

    [LibraryImport(Library)]
    public static unsafe partial IntPtr virDomainMigrate3(DomainHandle domain, ConnectionHandle destination, TypedParameter* parameters, uint nparams, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int virDomainMigrateToURI3(DomainHandle domain, string destinationUri, TypedParameter* parameters, uint nparams, uint flags);

    [LibraryImport(Library)]
    public static partial int virDomainMigrateSetMaxDowntime(DomainHandle domain, ulong downtimeMs, uint flags);

    [LibraryImport(Library)]
    public static partial int virDomainMigrateSetMaxSpeed(DomainHandle domain, ulong bandwidthMiBps, uint flags);

    [LibraryImport(Library)]
    public static partial int virDomainMigrateGetMaxSpeed(DomainHandle domain, out ulong bandwidthMiBps, uint flags);

    [LibraryImport(Library)]
    public static partial int virDomainGetJobStats(DomainHandle domain, out int type, out IntPtr parameters, out int nparams, uint flags);

    [LibraryImport(Library)]
    public static partial int virDomainAbortJob(DomainHandle domain);

    /// <summary>Custom XML metadata of a domain (type 2: an element in a namespace); the caller frees the string.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr virDomainGetMetadata(DomainHandle domain, int type, string? uri, uint flags);

    [LibraryImport(Library)]
    public static partial int virDomainGetState(DomainHandle domain, out int state, out int reason, uint flags);

    [LibraryImport(Library)]
    public static partial void virTypedParamsFree(IntPtr parameters, int nparams);

    [LibraryImport(Library)]
    public static partial IntPtr virGetLastError();

    [LibraryImport(Library)]
    public static partial void virResetLastError();

    [LibraryImport(Library)]
    public static unsafe partial void virSetErrorFunc(IntPtr userData, delegate* unmanaged<IntPtr, IntPtr, void> handler);

    [LibraryImport(Library)]
    public static partial int virEventRegisterDefaultImpl();

    [LibraryImport(Library)]
    public static partial int virEventRunDefaultImpl();

    [LibraryImport(Library)]
    public static unsafe partial int virConnectDomainEventRegisterAny(
        ConnectionHandle conn, IntPtr domain, int eventId,
        delegate* unmanaged<IntPtr, IntPtr, int, int, IntPtr, int> callback, IntPtr opaque, IntPtr freeCallback);

    [LibraryImport(Library)]
    public static partial int virConnectDomainEventDeregisterAny(ConnectionHandle conn, int callbackId);

    [LibraryImport(Library)]
    public static unsafe partial int virConnectRegisterCloseCallback(
        ConnectionHandle conn, delegate* unmanaged<IntPtr, int, IntPtr, void> callback, IntPtr opaque, IntPtr freeCallback);

    [LibraryImport(Library)]
    public static unsafe partial int virConnectUnregisterCloseCallback(
        ConnectionHandle conn, delegate* unmanaged<IntPtr, int, IntPtr, void> callback);

    [LibraryImport("libc")]
    public static partial void free(IntPtr pointer);

    /// <summary>Reads a NUL-terminated UTF-8 name from a fixed-size field (typed parameters, node statistics).</summary>
    public static unsafe string FieldString(byte* field, int length)
    {
        int n = 0;
        while (n < length && field[n] != 0)
        {
            n++;
        }

        return System.Text.Encoding.UTF8.GetString(field, n);
    }

    /// <summary>Reads a UTF-8 string libvirt allocated and frees it.</summary>
    public static string? TakeString(IntPtr pointer)
    {
        if (pointer == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(pointer);
        }
        finally
        {
            free(pointer);
        }
    }
}
