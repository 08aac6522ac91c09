using System.Globalization;
using System.Net;
using System.Text;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Reporting;

/// <summary>What the report shows besides the run's own figures.</summary>
/// <param name="Baseline">The same day with no migration.</param>
/// <param name="Final">The cluster at the last observation.</param>
/// <param name="Decisions">Planned moves and outcomes with their explanations, oldest first.</param>
internal sealed record ReportViews(SimulationSummary? Baseline, ClusterView? Final, IReadOnlyList<AuditRecord> Decisions);

/// <summary>The dashboard's views, drawn statically: the host heat map at the end and the decisions with their explanations.</summary>
internal static partial class HtmlReport
{
    private static void AppendHeatMap(StringBuilder sb, ClusterView final)
    {
        var hosts = final.Hosts.Where(h => h.VmCount > 0).ToList();
        sb.Append(CultureInfo.InvariantCulture, $"<h2>Hosts at the end ({hosts.Count} holding VMs of {final.Hosts.Count})</h2>")
          .Append("<p>Colour: the higher of CPU and memory use; a red border marks memory as the resource that binds, blue CPU. Hover for the figures.</p>")
          .Append("<div id=\"heatmap\" style=\"display:flex;flex-wrap:wrap;gap:2px;max-width:900px\">");
        foreach (var h in hosts)
        {
            double u = Math.Clamp(Math.Max(h.CpuUtilization, h.MemoryUtilization), 0, 1);
            string colour = string.Create(Inv, $"hsl({120 - (120 * u):F0},70%,{80 - (25 * u):F0}%)");
            string border = h.BindingResource == "memory" ? "#c00" : "#15c";
            string tip = string.Create(Inv, $"{h.Host}: CPU {h.CpuUtilization:P0}, memory {h.MemoryUtilization:P0}, {h.VmCount} VMs; binds: {h.BindingResource}");
            sb.Append(Inv, $"<div class=\"host binding-{h.BindingResource}\" title=\"{WebUtility.HtmlEncode(tip)}\" style=\"width:14px;height:14px;background:{colour};border:2px solid {border}\"></div>");
        }

        sb.Append("</div>");
    }

    private static void AppendDecisions(StringBuilder sb, IReadOnlyList<AuditRecord> decisions)
    {
        sb.Append(CultureInfo.InvariantCulture, $"<h2>Decisions (the first {decisions.Count} records, with their explanations)</h2>")
          .Append("<table id=\"decisions\"><tr><th>time</th><th>what</th><th>VM</th><th>from → to</th><th>why</th></tr>");
        foreach (var r in decisions)
        {
            sb.Append("<tr><td>").Append(r.Timestamp.ToString("HH:mm:ss", Inv)).Append("</td><td>").Append(r.Kind)
              .Append("</td><td>").Append(WebUtility.HtmlEncode(r.Vm?.Value ?? string.Empty))
              .Append("</td><td>").Append(WebUtility.HtmlEncode($"{r.Source?.Value} → {r.Target?.Value}"))
              .Append("</td><td>").Append(WebUtility.HtmlEncode(r.Message)).Append("</td></tr>");
        }

        sb.Append("</table>");
    }
}
