namespace VmEcosystem.Policies;

/// <summary>One version of the policies the store has held.</summary>
/// <param name="Version">The set's content hash (<see cref="PolicySet.Version"/>).</param>
/// <param name="LoadedAt">When it became current.</param>
/// <param name="Source">Where it came from (a file path, <c>configuration</c>, a caller's name).</param>
/// <param name="Set">The policies.</param>
public sealed record PolicyVersion(string Version, DateTimeOffset LoadedAt, string Source, PolicySet Set);

/// <summary>
/// The current resizing policies and every version held before (so a decision's recorded version can always be
/// looked up). A document that fails to parse never replaces the current set: the errors are returned and the last
/// good version stays. Loading a document whose content equals the current one changes nothing. Thread-safe.
/// </summary>
public sealed class ResizePolicyStore
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly PolicyParser _parser = new();
    private readonly List<PolicyVersion> _versions = [];
    private PolicyVersion? _current;

    /// <summary>Creates an empty store (<see cref="Current"/> is <see cref="PolicySet.Empty"/> until a load).</summary>
    public ResizePolicyStore(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>Raised after a new version becomes current (on the loading thread).</summary>
    public event Action<PolicyVersion>? Changed;

    /// <summary>The current policies.</summary>
    public PolicySet Current
    {
        get
        {
            lock (_gate)
            {
                return _current?.Set ?? PolicySet.Empty;
            }
        }
    }

    /// <summary>Every version held, oldest first (a version that comes back is listed again).</summary>
    public IReadOnlyList<PolicyVersion> Versions
    {
        get
        {
            lock (_gate)
            {
                return [.. _versions];
            }
        }
    }

    /// <summary>The version <paramref name="version"/> held last, or null.</summary>
    public PolicyVersion? Find(string version)
    {
        lock (_gate)
        {
            return _versions.LastOrDefault(v => v.Version == version);
        }
    }

    /// <summary>Parses <paramref name="json"/> and makes it current when valid and different.</summary>
    /// <returns>The parse result: on errors the current set is kept.</returns>
    public PolicyParseResult Load(ReadOnlyMemory<byte> json, string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        var result = _parser.Parse(json);
        if (result.Set is not { } set)
        {
            return result;
        }

        PolicyVersion added;
        lock (_gate)
        {
            if (_current?.Version == set.Version)
            {
                return result;
            }

            added = new PolicyVersion(set.Version, _time.GetUtcNow(), source, set);
            _versions.Add(added);
            _current = added;
        }

        Changed?.Invoke(added);
        return result;
    }

    /// <summary>Reads and loads the file at <paramref name="path"/> (its path is the version's source).</summary>
    /// <returns>The parse result; an unreadable file is one error at <c>$</c> naming it.</returns>
    public PolicyParseResult LoadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try
        {
            bytes = IO.InputFile.ReadAllBytes(path, PolicyParser.MaxDocumentBytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new PolicyParseResult(null, [new PolicyError("$", $"cannot read policy file '{path}': {ex.Message}")]);
        }

        return Load(bytes, path);
    }
}
