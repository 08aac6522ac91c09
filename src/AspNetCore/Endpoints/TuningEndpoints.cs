using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Runtime.Rollout;
using VmEcosystem.Runtime.Tuning;

namespace VmEcosystem.AspNetCore.Endpoints;

/// <summary>
/// Tuning runs (when <c>AddConfigurationTuning</c> is used; 404 otherwise): <c>GET/POST /tuning/runs</c>,
/// <c>GET /tuning/runs/{id}</c>, <c>GET /tuning/runs/{id}/evaluations</c>, <c>POST /tuning/runs/{id}/cancel</c>
/// and <c>POST /tuning/runs/{id}/rollout</c> (an A/B rollout of the best configuration).
/// </summary>
internal static class TuningEndpoints
{
    private const string Disabled = "tuning runs are not enabled (AddConfigurationTuning)";

    private static readonly string[] Fields =
    [
        "id", "searchSpace", "goals", "baseline", "evaluator", "vm", "population", "generations", "maxEvaluations", "mutation", "guidedCandidates",
        "slots", "seed", "evaluationTimeoutSeconds", "retries", "latencyMetric", "throughputMetric",
    ];

    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/tuning/runs", List).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("ListTuningRuns").WithSummary("Every tuning run, in the order they were started: state, generation, evaluations, baseline and best with the score's parts.")
            .Produces<IReadOnlyList<TuningRunStatus>>().ProducesProblem(StatusCodes.Status404NotFound);
        g.MapPost("/tuning/runs", StartAsync).RequireAuthorization(VmEcosystemPolicies.Operate)
            .WithName("StartTuningRun").WithSummary("Starts a tuning run (body: id, searchSpace as JSON or YAML text or a JSON object, goals, baseline, evaluator, and the engine's settings).")
            .WithMetadata(new JsonBody(typeof(RunBody))).Produces<TuningRunStatus>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesValidationProblem();
        g.MapGet("/tuning/runs/{id}", Get).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetTuningRun").WithSummary("A tuning run's state and the best configuration it has found.")
            .Produces<TuningRunStatus>().ProducesProblem(StatusCodes.Status404NotFound);
        g.MapGet("/tuning/runs/{id}/evaluations", Evaluations).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetTuningEvaluations").WithSummary("The run's baseline and every configuration it measured: settings, metrics, score and its parts, error.")
            .Produces<IReadOnlyList<TuningEvaluationInfo>>().ProducesProblem(StatusCodes.Status404NotFound);
        g.MapPost("/tuning/runs/{id}/cancel", Cancel).RequireAuthorization(VmEcosystemPolicies.Operate)
            .WithName("CancelTuningRun").WithSummary("Cancels a running tuning run; it keeps what it found.")
            .Produces(StatusCodes.Status202Accepted).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        g.MapPost("/tuning/runs/{id}/rollout", RolloutAsync).RequireAuthorization(VmEcosystemPolicies.Operate)
            .WithName("RollOutTuningResult").WithSummary("Rolls the finished run's best configuration out over VMs as an A/B rollout (body: rolloutId, vms).")
            .WithMetadata(new JsonBody(typeof(RolloutBody))).Produces(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesValidationProblem();
    }

    internal sealed record GoalBody(string Metric, string Direction, double? Weight, double? Target);

    internal sealed record RunBody(string Id, string SearchSpace, IReadOnlyList<GoalBody> Goals, IReadOnlyDictionary<string, string> Baseline, string? Evaluator,
        string? Vm, int? Population, int? Generations, long? MaxEvaluations, double? Mutation, int? GuidedCandidates, int? Slots, int? Seed,
        double? EvaluationTimeoutSeconds, int? Retries, string? LatencyMetric, string? ThroughputMetric);

    internal sealed record RolloutBody(string RolloutId, IReadOnlyList<string> Vms);

    private static IResult List(IServiceProvider services) =>
        services.GetService<ITuningRuns>() is { } runs ? TypedResults.Json(runs.List(), ApiJson.Options) : Problems.NotFound(Disabled);

    private static IResult Get(string id, IServiceProvider services) =>
        services.GetService<ITuningRuns>() is not { } runs ? Problems.NotFound(Disabled)
        : runs.GetStatus(id) is { } status ? TypedResults.Json(status, ApiJson.Options)
        : Problems.NotFound($"no tuning run '{id}'");

    private static IResult Evaluations(string id, IServiceProvider services)
    {
        if (services.GetService<ITuningRuns>() is not { } runs)
        {
            return Problems.NotFound(Disabled);
        }

        try
        {
            return TypedResults.Json(runs.Evaluations(id), ApiJson.Options);
        }
        catch (KeyNotFoundException ex)
        {
            return Problems.NotFound(ex.Message);
        }
    }

    private static IResult Cancel(string id, IServiceProvider services)
    {
        if (services.GetService<ITuningRuns>() is not { } runs)
        {
            return Problems.NotFound(Disabled);
        }

        try
        {
            return runs.Cancel(id) ? TypedResults.Accepted($"tuning/runs/{id}") : Problems.Conflict($"tuning run '{id}' is not running");
        }
        catch (KeyNotFoundException ex)
        {
            return Problems.NotFound(ex.Message);
        }
    }

    private static async Task<IResult> StartAsync(HttpContext http, IServiceProvider services, IOptions<VmEcosystemApiOptions> options, CancellationToken cancellationToken)
    {
        if (services.GetService<ITuningRuns>() is not { } runs)
        {
            return Problems.NotFound(Disabled);
        }

        var (root, problem) = await ConfigurationEndpoints.ReadObjectAsync(http, options.Value, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new List<(string, string)>();
        var request = TuningRequestBody.Read(root, errors, Fields);
        if (errors.Count > 0 || request is null)
        {
            return Problems.Validation(errors);
        }

        try
        {
            var status = runs.Start(request);
            return TypedResults.Json(status, ApiJson.Options, statusCode: StatusCodes.Status202Accepted);
        }
        catch (InvalidOperationException ex)
        {
            return Problems.Conflict(ex.Message);
        }
        catch (ArgumentException ex)
        {
            return Problems.Validation("$", ex.Message);
        }
    }

    private static async Task<IResult> RolloutAsync(string id, HttpContext http, IServiceProvider services, IOptions<VmEcosystemApiOptions> options, CancellationToken cancellationToken)
    {
        if (services.GetService<ITuningRuns>() is not { } runs)
        {
            return Problems.NotFound(Disabled);
        }

        if (services.GetService<IConfigurationRollouts>() is not { } rollouts)
        {
            return Problems.NotFound("configuration rollouts are not enabled (AddConfigurationRollout)");
        }

        if (runs.GetStatus(id) is not { } status)
        {
            return Problems.NotFound($"no tuning run '{id}'");
        }

        var (root, problem) = await ConfigurationEndpoints.ReadObjectAsync(http, options.Value, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new List<(string, string)>();
        string? rolloutId = new JsonFields(root, errors, "rolloutId", "vms").Text("rolloutId", required: true, maxLength: 128);
        var vms = ConfigurationEndpoints.Strings(root, "vms", errors);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        if (status.State == TuningRunState.Running)
        {
            return Problems.Conflict($"tuning run '{id}' is still running");
        }

        if (status.Best is not { Index: > 0 } best)
        {
            return Problems.Conflict($"tuning run '{id}' found nothing better than its baseline");
        }

        try
        {
            rollouts.Start(new RolloutRequest(rolloutId!, [.. vms.Select(v => new VmId(v))], best.Settings,
                $"tuning run {id} (score {best.Score.ToString("0.####", CultureInfo.InvariantCulture)})", best.Score));
            return TypedResults.Accepted($"rollouts/{rolloutId}");
        }
        catch (InvalidOperationException ex)
        {
            return Problems.Conflict(ex.Message);
        }
        catch (ArgumentException ex)
        {
            return Problems.Validation("$", ex.Message);
        }
    }
}
