using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>Keeps the providers' warnings so the sample can say why a host could not be read (the messages are already redacted by the provider).</summary>
internal sealed class CapturedWarnings : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _messages = new();

    public ILogger CreateLogger(string categoryName) => new Logger(_messages);

    /// <summary>The last "libvirt host NAME is unreachable: REASON" message's reason, if any.</summary>
    public string? ReasonFor(string host)
    {
        string prefix = $"libvirt host {host} is unreachable: ";
        return _messages.LastOrDefault(m => m.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..];
    }

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<string> messages) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel) && messages.Count < 1000)
            {
                messages.Enqueue(formatter(state, exception));
            }
        }
    }
}
