using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Tuning;

namespace VmEcosystem.Runtime.Tuning;

internal sealed partial class TuningRunService
{
    // One run from its start (or its last checkpoint) to its end; a host that stops leaves it running, to resume.
    private async Task ExecuteAsync(TuningRun run, bool resumed)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(run.Cancellation.Token, _stopping.Token, run.Handover.Token);
        var token = linked.Token;
        var handover = run.Handover;
        bool stopping() => (_stopping.IsCancellationRequested || handover.IsCancellationRequested) && !run.Cancellation.IsCancellationRequested;
        try
        {
            // recorded before it waits for a turn: a run queued behind others is not lost if the process stops
            await RecordAsync(run, resumed ? "resumed" : "started").ConfigureAwait(false);
            await _turns.WaitAsync(token).ConfigureAwait(false);
            try
            {
                var evaluator = _services.GetKeyedService<ITuningEvaluator>(run.Request.Evaluator)
                    ?? throw new InvalidOperationException($"no tuning evaluator named '{run.Request.Evaluator}' is registered (AddTuningEvaluator)");
                var tuner = new ConfigurationTuner(run.Space, run.Goals, new RecordingEvaluator(run, evaluator, _store, _measurements, run.Checkpoint is { } c ? c.Evaluations.Count + 1 : 0), Options(run));
                var result = await Task.Factory.StartNew(() => tuner.Run(run.BaselineValues, new Random(run.Request.Seed), token, run.Checkpoint),
                    CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
                var final = new TuningCheckpoint(result.Engine.Checkpoint, result.Baseline, result.Evaluations);
                run.Progress(final);
                Save(run, final);
                if (stopping())
                {
                    return; // resumed from here at the next start
                }

                run.End(run.Cancellation.IsCancellationRequested ? TuningRunState.Cancelled : TuningRunState.Completed, _time.GetUtcNow(), result.Engine.Stopped, null);
            }
            finally
            {
                _turns.Release();
            }
        }
        catch (OperationCanceledException) when (stopping())
        {
            return;
        }
        catch (OperationCanceledException)
        {
            run.End(TuningRunState.Cancelled, _time.GetUtcNow(), "cancelled", null);
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Tuning run {Run} failed", run.Request.Id);
            run.End(TuningRunState.Failed, _time.GetUtcNow(), null, ex.Message);
        }
        finally
        {
            lock (_gate)
            {
                run.Executing = false;
            }

            if (_stopping.IsCancellationRequested && stopping())
            {
                run.Done.TrySetResult(run.Status());
            }
        }

        await RecordAsync(run, run.State.ToString().ToLowerInvariant()).ConfigureAwait(false);
        run.Done.TrySetResult(run.Status());
    }

    private TuningOptions Options(TuningRun run)
    {
        var r = run.Request;
        return new TuningOptions
        {
            Genetic = new GeneticOptions
            {
                PopulationSize = r.Population,
                Generations = r.Generations,
                MaxEvaluations = r.MaxEvaluations,
                MutationProbability = r.Mutation,
                GuidedCandidates = r.GuidedCandidates,
                Slots = r.Slots,
                Initialization = GeneticInitialization.LatinHypercube,
                Seeds = [run.Space.Encode(run.BaselineValues)], // the current configuration is one of the first generation
                Time = _time,
            },
            EvaluationTimeout = r.EvaluationTimeout,
            Retries = r.Retries,
            AfterGeneration = checkpoint =>
            {
                run.Progress(checkpoint);
                Save(run, checkpoint);
            },
        };
    }

    // On the engine's thread, between generations: the next generation waits for the checkpoint to be kept.
    private void Save(TuningRun run, TuningCheckpoint checkpoint)
    {
        if (Audit is not IRuntimeCheckpointStore store)
        {
            return;
        }

        try
        {
            TuningTrail.SaveAsync(store, run.Request.Id, checkpoint, _time.GetUtcNow()).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(ex, "Tuning run {Run}: its checkpoint could not be saved; a restart resumes it from an earlier one", run.Request.Id);
        }
    }

    private async Task RecordAsync(TuningRun run, string what)
    {
        if (Audit is not { } audit)
        {
            return;
        }

        var status = run.Status();
        string best = status.Best is { } b ? $"; best score {b.Score:0.####} ({string.Join(", ", b.Settings.Select(s => $"{s.Key}={s.Value}"))})" : "";
        string message = $"tuning run {run.Request.Id} {what}: {status.Evaluations} evaluations, generation {status.Generation}{best}{(status.Error is { } e ? $"; {e}" : "")}";
        try
        {
            await audit.AppendAsync(new AuditRecord(0, _time.GetUtcNow(), AuditKind.TuningRunChanged, null, run.Request.Vm, null, null, message,
                TuningTrail.Detail(run.Request, status)) { Controller = TuningTrail.Controller }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(ex, "Tuning run {Run} could not be recorded ({What})", run.Request.Id, what);
        }
    }
}
