using System.Xml.Linq;
using static VmEcosystem.Providers.VSphere.Soap.Vim;

namespace VmEcosystem.Providers.VSphere.Soap;

/// <summary>One property change of an object update (<c>changeSet</c>).</summary>
internal sealed record PropertyChange(string Name, string Op, XElement? Value);

/// <summary>One object of an update (<c>enter</c>, <c>modify</c> or <c>leave</c>).</summary>
internal sealed record ObjectUpdate(string Kind, Mor Obj, IReadOnlyList<PropertyChange> Changes);

/// <summary>
/// A private property collector for <c>WaitForUpdatesEx</c>: version-based long polls over its own filters, so a
/// task follower and the inventory watcher never consume each other's updates. Destroyed on dispose.
/// </summary>
internal sealed class UpdateCollector : IAsyncDisposable
{
    private readonly VimSession _session;
    private readonly Mor _collector;
    private string _version = "";

    private UpdateCollector(VimSession session, Mor collector)
    {
        _session = session;
        _collector = collector;
    }

    public static async Task<UpdateCollector> CreateAsync(VimSession session, CancellationToken cancellationToken)
    {
        var r = await session.CallAsync(c => E("CreatePropertyCollector", This(c.PropertyCollector)), idempotent: false, cancellationToken).ConfigureAwait(false);
        return new UpdateCollector(session, Mor.From(r.Child("returnval")!));
    }

    /// <summary>Adds a filter on <paramref name="objectSet"/> for the given paths of <paramref name="type"/>.</summary>
    public Task AddFilterAsync(string type, IEnumerable<string> paths, XElement objectSet, CancellationToken cancellationToken) =>
        _session.CallAsync(_ => E("CreateFilter", This(_collector),
            E("spec", E("propSet", E("type", type), paths.Select(p => E("pathSet", p))), objectSet),
            E("partialUpdates", "false")), idempotent: false, cancellationToken);

    /// <summary>
    /// Waits up to <paramref name="maxWait"/> on the server for changes since the last call (the first call returns
    /// every filtered object as <c>enter</c>); an empty list when nothing changed.
    /// </summary>
    public async Task<IReadOnlyList<ObjectUpdate>> WaitAsync(TimeSpan maxWait, CancellationToken cancellationToken)
    {
        int seconds = Math.Max(1, (int)Math.Ceiling(maxWait.TotalSeconds));
        var r = await _session.CallAsync(_ => E("WaitForUpdatesEx", This(_collector), E("version", _version),
            E("options", E("maxWaitSeconds", Text(seconds)))), idempotent: false, cancellationToken, maxWait + TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        if (r.Child("returnval") is not { } set)
        {
            return [];
        }

        _version = set.Child("version")?.Value ?? _version;
        var updates = new List<ObjectUpdate>();
        foreach (var o in set.Children("filterSet").SelectMany(f => f.Children("objectSet")))
        {
            var changes = o.Children("changeSet")
                .Select(c => new PropertyChange(c.Child("name")?.Value ?? "", c.Child("op")?.Value ?? "assign", c.Child("val")))
                .ToArray();
            updates.Add(new ObjectUpdate(o.Child("kind")?.Value ?? "modify", Mor.From(o.Child("obj")!), changes));
        }

        return updates;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _session.CallAsync(_ => E("DestroyPropertyCollector", This(_collector)), idempotent: false, cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is VimFault or HttpRequestException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            // Collectors end with the session; nothing else holds this one.
        }
    }
}

/// <summary>The end of a task: success, or the fault from <c>info.error</c>.</summary>
internal static class TaskFollower
{
    private static readonly string[] Paths = ["info.state", "info.progress", "info.error"];

    /// <summary>
    /// Follows <paramref name="task"/> to its end with <c>WaitForUpdatesEx</c>, reporting progress (0..100). When
    /// <paramref name="cancel"/> fires, asks the server to <c>CancelTask</c> once and keeps following: the task's own
    /// end decides the outcome (a task past its point of no return may still succeed). Throws the task's fault.
    /// </summary>
    public static async Task FollowAsync(VimSession session, Mor task, Action<int>? progress, CancellationToken cancel, TimeSpan maxWait, CancellationToken stop)
    {
        await using var collector = await UpdateCollector.CreateAsync(session, stop).ConfigureAwait(false);
        await collector.AddFilterAsync("Task", Paths, E("objectSet", Ref("obj", task), E("skip", "false")), stop).ConfigureAwait(false);
        bool cancelSent = false;
        using var cancelled = CancellationTokenSource.CreateLinkedTokenSource(stop, cancel);
        while (true)
        {
            IReadOnlyList<ObjectUpdate> updates;
            try
            {
                updates = await collector.WaitAsync(cancelSent ? TimeSpan.FromSeconds(1) : maxWait, cancelSent ? stop : cancelled.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested && !stop.IsCancellationRequested && !cancelSent)
            {
                cancelSent = true;
                await RequestCancelAsync(session, task, stop).ConfigureAwait(false);
                continue;
            }

            foreach (var change in updates.SelectMany(u => u.Changes))
            {
                switch (change.Name)
                {
                    case "info.progress" when change.Value is { } v && int.TryParse(v.Value, out int percent):
                        progress?.Invoke(percent);
                        break;
                    case "info.state" when change.Value?.Value == "success":
                        return;
                    case "info.state" when change.Value?.Value == "error":
                        throw await ReadErrorAsync(session, task, stop).ConfigureAwait(false);
                }
            }

            if (cancel.IsCancellationRequested && !cancelSent)
            {
                cancelSent = true;
                await RequestCancelAsync(session, task, stop).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Asks the server to cancel. A refusal (the task already ended, or is past the point where it can stop) is not
    /// the move's outcome: the task's own end is, so the refusal is ignored.
    /// </summary>
    private static async Task RequestCancelAsync(VimSession session, Mor task, CancellationToken stop)
    {
        try
        {
            await session.CallAsync(_ => E("CancelTask", This(task)), idempotent: false, stop).ConfigureAwait(false);
        }
        catch (VimFault)
        {
        }
    }

    /// <summary>The task's <c>info.error</c> as a fault (read again: the state change can arrive before the error).</summary>
    private static async Task<VimFault> ReadErrorAsync(VimSession session, Mor task, CancellationToken cancellationToken)
    {
        var reader = new PropertyReader(session, 1);
        var info = await reader.ReadOneAsync(task, ["info.error"], cancellationToken).ConfigureAwait(false);
        return FaultOf(info.Value("info.error"));
    }

    /// <summary>A <c>LocalizedMethodFault</c> as a <see cref="VimFault"/>.</summary>
    internal static VimFault FaultOf(XElement? error)
    {
        var fault = error?.Child("fault");
        string type = fault?.Attribute(Xsi + "type")?.Value ?? "ProviderFault";
        string message = error?.Child("localizedMessage")?.Value is { Length: > 0 } m ? m : type;
        if (fault?.Child("invalidProperty")?.Value is { } property)
        {
            message += $" (invalid property: {property})";
        }

        return new VimFault(type, message);
    }
}
