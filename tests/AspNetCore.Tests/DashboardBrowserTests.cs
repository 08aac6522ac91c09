using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using VmEcosystem.TestSupport;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>
/// The dashboard in a real browser: starts <c>vmeco serve</c> on a loopback port, drives Debian's Chromium with
/// Playwright (no browser download), approves the pending migration plan on the page and sees it executed. The
/// screenshot is kept in <c>artifacts/dashboard.png</c>. Skipped without Chromium, except where
/// <c>VMECO_REQUIRE_BROWSER=1</c> (CI) makes that a failure.
/// </summary>
public sealed class DashboardBrowserTests
{
    private const string Key = "browser-test-key";

    [Fact]
    public async Task An_operator_approves_a_pending_plan_on_the_dashboard_and_sees_it_executed()
    {
        var ct = TestContext.Current.CancellationToken;
        string? chromium = new[] { Environment.GetEnvironmentVariable("VMECO_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" }
            .FirstOrDefault(p => p is not null && File.Exists(p));
        if (chromium is null)
        {
            Assert.False(Environment.GetEnvironmentVariable("VMECO_REQUIRE_BROWSER") == "1", "Chromium is required (VMECO_REQUIRE_BROWSER=1) but not installed");
            Assert.Skip("no Chromium (apt-get install chromium)");
        }

        using var serve = await ServeProcess.StartAsync(["--speed", "120", "--api-key", $"{Key}=vmecosystem.operate"], ct);
        await DriveAsync(serve.Url, chromium, ct);
    }

    private static async Task DriveAsync(string url, string chromium, CancellationToken ct)
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 1000 } });
        await page.GotoAsync($"{url}/vmeco/dashboard#key={Key}");

        // The first planning pass (five simulated minutes) proposes a plan; the page lists it with its buttons.
        var approve = page.Locator("button.approve").First;
        await approve.WaitForAsync(new() { Timeout = 60_000 });
        string planId = (await approve.GetAttributeAsync("data-plan"))!;
        int actions = await page.Locator($"#plan-{planId} td:nth-child(2) div").CountAsync();
        Assert.True(actions > 0);
        Assert.Matches("pending [1-9]", await page.Locator("#pending").TextContentAsync());
        await approve.ClickAsync();

        // The executor runs the moves; the header counts them, the plan leaves the list, the timeline shows them.
        await page.WaitForFunctionAsync("() => /migrations [1-9]\\d* ok/.test(document.getElementById('migrations').textContent)", null, new() { Timeout = 60_000 });
        await page.Locator($"#plan-{planId}").WaitForAsync(new() { State = WaitForSelectorState.Detached, Timeout = 30_000 });
        await page.Locator("#timeline li.kind-migrationSucceeded").First.WaitForAsync(new() { Timeout = 30_000 });
        await page.Locator("#forecast polyline.series-point").WaitForAsync(new() { Timeout = 30_000 }); // two observations seen
        Assert.Equal(1, await page.Locator("#forecast polyline.series-actual").CountAsync());
        Assert.True(await page.Locator("#hosts .host").CountAsync() > 0);
        Assert.True(await page.Locator("#graph line").CountAsync() > 0);

        string artifacts = RepositoryPaths.File("artifacts");
        Directory.CreateDirectory(artifacts);
        await page.ScreenshotAsync(new() { Path = Path.Combine(artifacts, "dashboard.png"), FullPage = true });

        using var api = new HttpClient { BaseAddress = new Uri(url) };
        api.DefaultRequestHeaders.Add("X-Api-Key", Key);
        var audit = await api.GetFromJsonAsync<JsonElement>($"/vmeco/audit?plan={planId}&kind=planApproved", ct);
        Assert.Equal(1, audit.GetProperty("items").GetArrayLength());
        var done = await api.GetFromJsonAsync<JsonElement>($"/vmeco/decisions?plan={planId}&kind=migrationSucceeded&kind=migrationFailed&limit=1000", ct);
        Assert.True(done.GetProperty("items").GetArrayLength() > 0);
    }
}
