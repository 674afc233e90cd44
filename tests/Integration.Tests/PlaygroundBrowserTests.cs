using System.Collections.Concurrent;
using System.Diagnostics;
using Aspire.Hosting.Testing;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace LlmMesh.Integration.Tests;

/// <summary>Debian's Chromium, driven by Playwright, launched once for the playground's browser tests.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>Where the prerequisites script installs it (Playwright cannot download browsers on these machines).</summary>
    public const string Chromium = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // Chromium's sandbox needs user namespaces that containers (and root) do not give it.
            Args = ["--no-sandbox"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
    }
}

/// <summary>
/// The playground at the gateway's "/" in a real browser against the real host: generation streams
/// into the page, interpolation shows every step, a quick run starts, moves the chart and is
/// cancelled; axe finds no serious or critical violation; the page requests nothing outside the gateway.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class PlaygroundBrowserTests(MeshFixture mesh, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_prompt_streams_text_into_the_page_with_its_probability_and_nearest_sentences()
    {
        await mesh.AraeBundleAsync(); // the discriminator scores samples of adversarial bundles
        await using var session = await OpenAsync();
        var page = session.Page;
        // A small model streams a sentence within milliseconds, so the page would read it in one
        // piece; a slow link is emulated by handing the page the real completion stream 64 bytes
        // at a time (events and UTF-8 characters split across reads, as on a distant connection).
        // The page must show the sample's text while its stream is still open (a page that waited
        // for the end would show the text and its finish in the same task, never one without the other).
        await page.EvaluateAsync("""
            const body = Object.getOwnPropertyDescriptor(Response.prototype, 'body').get;
            const slowed = new WeakMap();
            Object.defineProperty(Response.prototype, 'body', { get() {
              const source = body.call(this);
              if (!source || !new URL(this.url).pathname.endsWith('/v1/completions')) return source;
              if (!slowed.has(this)) {
                const reader = source.getReader();
                let pending = new Uint8Array(0);
                slowed.set(this, new ReadableStream({ async pull(controller) {
                  if (pending.length === 0) {
                    const { value, done } = await reader.read();
                    if (done) { controller.close(); return; }
                    pending = value;
                  }
                  await new Promise(resolve => setTimeout(resolve, 5));
                  controller.enqueue(pending.slice(0, 64));
                  pending = pending.slice(64);
                } }));
              }
              return slowed.get(this);
            } });
            window.partialLengths = [];
            new MutationObserver(() => {
              const sample = document.querySelector('[data-testid=output] li.sample');
              const length = sample?.querySelector('.text').textContent.length ?? 0;
              if (sample && !sample.dataset.finished && length > 0) window.partialLengths.push(length);
            }).observe(document.querySelector('[data-testid=output]'), { subtree: true, childList: true, characterData: true });
            """);

        await page.GetByTestId("prompt").FillAsync("a man riding a horse on a beach");
        await page.GetByLabel("Max tokens", new() { Exact = true }).FillAsync("24");
        await page.GetByLabel("Seed").FillAsync("7");
        await page.GetByTestId("generate").ClickAsync();

        var sample = page.GetByTestId("output").Locator("li.sample");
        await Expect(sample).ToHaveCountAsync(1);
        await Expect(sample.Locator("[data-testid=probability]")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^P\(real\) [01]\.\d{3}$"), new() { Timeout = Timeout });
        var text = (await sample.Locator(".text").TextContentAsync())!;
        Assert.NotEmpty(text.Trim());
        var partial = await page.EvaluateAsync<int[]>("window.partialLengths");
        Assert.True(partial.Length > 0 && partial.All(length => length <= text.Length),
            $"the page showed the sample's text only once its stream ended ({partial.Length} states before the finish, text of {text.Length} characters)");

        await sample.GetByRole(AriaRole.Button, new() { Name = "Nearest real sentences" }).ClickAsync();
        await Expect(sample.Locator(".neighbors li")).ToHaveCountAsync(5, new() { Timeout = Timeout });
        await Expect(sample.Locator(".neighbors li").First).ToContainTextAsync("distance");
        session.AssertStayedOnTheGateway();
    }

    [Fact]
    public async Task Interpolating_shows_every_step_and_a_step_becomes_the_prompt()
    {
        await using var session = await OpenAsync();
        var page = session.Page;
        // The first bundle (a VAE that decodes sentences), not whichever adversarial one is newest.
        await page.GetByTestId("model").SelectOptionAsync($"coco@{mesh.FirstBundle}");
        await page.GetByRole(AriaRole.Tab, new() { Name = "Interpolate" }).ClickAsync();
        await page.GetByTestId("interpolate-start").FillAsync("a man riding a horse on a beach");
        await page.GetByTestId("interpolate-end").FillAsync("a plate of food on a table");
        await page.GetByLabel("Steps").FillAsync("6");
        await page.GetByTestId("interpolate").ClickAsync();

        var steps = page.GetByTestId("interpolation").Locator("> li");
        await Expect(steps).ToHaveCountAsync(6);
        await Expect(page.GetByTestId("interpolation").Locator("> li[data-done=true]")).ToHaveCountAsync(6, new() { Timeout = Timeout });
        var texts = await steps.Locator(".text").AllTextContentsAsync();
        Assert.All(texts, t => Assert.False(string.IsNullOrWhiteSpace(t) || t == "…"));
        Assert.Equal(["t = 0.00", "t = 0.20", "t = 0.40", "t = 0.60", "t = 0.80", "t = 1.00"], await steps.Locator(".t").AllTextContentsAsync());

        await steps.Nth(2).GetByRole(AriaRole.Button).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Tab, new() { Name = "Generate" })).ToHaveAttributeAsync("aria-selected", "true");
        await Expect(page.GetByTestId("prompt")).ToHaveValueAsync(texts[2]);
        session.AssertStayedOnTheGateway();
    }

    [Fact]
    public async Task A_quick_run_starts_moves_the_chart_and_is_cancelled()
    {
        await using var session = await OpenAsync();
        var page = session.Page;
        await page.GetByRole(AriaRole.Tab, new() { Name = "Train" }).ClickAsync();
        await Expect(page.GetByLabel("Corpus").Locator("option[value=coco]")).ToHaveCountAsync(1, new() { Timeout = Timeout });
        await page.GetByLabel("Corpus").SelectOptionAsync("coco");
        await page.GetByTestId("start-run").ClickAsync();

        // The chart moves: two points or more of training loss.
        var chart = page.GetByTestId("loss-chart");
        await Expect(chart).ToHaveAttributeAsync("data-points", new System.Text.RegularExpressions.Regex("^([2-9]|[1-9][0-9]+)$"), new() { Timeout = (float)TimeSpan.FromMinutes(3).TotalMilliseconds });
        await Expect(chart.Locator("polyline[data-series=loss]")).ToHaveCountAsync(1);
        var status = await page.Locator("#run-status").TextContentAsync();
        var runId = status!.Split(' ')[1].TrimEnd(':');
        await Expect(page.GetByTestId("runs").Locator("tbody tr", new() { HasText = runId })).ToHaveCountAsync(1, new() { Timeout = Timeout });

        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" }).ClickAsync();
        await Expect(page.Locator("#run-status")).ToContainTextAsync($"Run {runId} cancelled", new() { Timeout = Timeout });
        await Expect(page.GetByTestId("runs").Locator("tbody tr", new() { HasText = runId })).ToContainTextAsync("cancelled", new() { Timeout = Timeout });
        session.AssertStayedOnTheGateway();
    }

    [Fact]
    public async Task Every_tab_has_no_serious_or_critical_accessibility_violation_on_a_desktop_and_a_phone()
    {
        foreach (var viewport in new[] { new ViewportSize { Width = 1280, Height = 900 }, new ViewportSize { Width = 375, Height = 740 } })
        {
            await using var session = await OpenAsync(viewport);
            var page = session.Page;
            foreach (var tab in new[] { "Generate", "Interpolate", "Train" })
            {
                await page.GetByRole(AriaRole.Tab, new() { Name = tab }).ClickAsync();
                await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
                var results = await page.RunAxe();
                var blocking = results.Violations.Where(v => v.Impact is "serious" or "critical").ToArray();
                Assert.True(blocking.Length == 0, $"{tab} at {viewport.Width}px: " + string.Join("; ", blocking.Select(v => $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Target))}")));
                // Readable on a phone: nothing wider than the screen.
                if (await page.EvaluateAsync<int>("document.documentElement.scrollWidth") > viewport.Width)
                {
                    var wider = await page.EvaluateAsync<string[]>($$"""
                        [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > {{viewport.Width}})
                          .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className).slice(0, 10)
                        """);
                    Assert.Fail($"{tab} scrolls sideways at {viewport.Width}px: {string.Join(", ", wider)}");
                }
            }
            session.AssertStayedOnTheGateway();
        }
    }

    [Fact]
    public async Task The_tabs_and_forms_work_from_the_keyboard()
    {
        await mesh.AraeBundleAsync(); // the discriminator scores samples of adversarial bundles
        await using var session = await OpenAsync();
        var page = session.Page;
        // No key is required here, so none is asked for.
        await Expect(page.GetByLabel("API key")).ToBeHiddenAsync();
        await page.GetByRole(AriaRole.Tab, new() { Name = "Generate" }).FocusAsync();
        await page.Keyboard.PressAsync("ArrowRight");
        await Expect(page.GetByRole(AriaRole.Tab, new() { Name = "Interpolate" })).ToBeFocusedAsync();
        await Expect(page.GetByTestId("interpolate-start")).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("End");
        await Expect(page.GetByRole(AriaRole.Tab, new() { Name = "Train" })).ToHaveAttributeAsync("aria-selected", "true");
        await page.Keyboard.PressAsync("Home");

        // Enter in the prompt's form submits it. Seeded and prompted as the other tests are: an
        // unseeded free sample of the test's tiny model is sometimes empty, and an empty sample has
        // nothing to score.
        await page.GetByTestId("prompt").FillAsync("a man riding a horse on a beach");
        await page.GetByLabel("Seed").FillAsync("7");
        await page.GetByLabel("Max tokens", new() { Exact = true }).FillAsync("8");
        await page.GetByLabel("Max tokens", new() { Exact = true }).PressAsync("Enter");
        await Expect(page.GetByTestId("output").Locator("li.sample [data-testid=probability]")).ToBeVisibleAsync(new() { Timeout = Timeout });
        session.AssertStayedOnTheGateway();
    }

    [Fact]
    public async Task A_sample_that_ends_at_once_says_so_instead_of_showing_nothing()
    {
        await mesh.AraeBundleAsync(); // the discriminator scores samples of adversarial bundles
        await using var session = await OpenAsync();
        var page = session.Page;
        await page.GetByTestId("prompt").FillAsync("a man riding a horse on a beach");
        await page.GetByLabel("Seed").FillAsync("7");
        await page.GetByLabel("Max tokens", new() { Exact = true }).FillAsync("8");
        await page.GetByTestId("generate").ClickAsync();
        var sample = page.GetByTestId("output").Locator("li.sample");
        await Expect(sample.Locator("[data-testid=probability]")).ToBeVisibleAsync(new() { Timeout = Timeout });
        var text = (await sample.Locator(".text").TextContentAsync())!.Trim();

        // The same seeded sample, stopped at its first character: nothing of it is left.
        await page.GetByLabel("Stop strings").FillAsync(text[..1]);
        await page.GetByTestId("generate").ClickAsync();
        await Expect(sample.Locator(".finish")).ToHaveTextAsync("finished: stop (empty sample: nothing to score)", new() { Timeout = Timeout });
        await Expect(sample.Locator(".text")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\s*$"));
        await Expect(sample.Locator("[data-testid=probability]")).ToBeHiddenAsync();
        session.AssertStayedOnTheGateway();
    }

    /// <summary>
    /// The README's screenshots: written to LLMMESH_SCREENSHOTS when set (scripts/screenshots.sh
    /// points it at docs/images), else to a temporary folder.
    /// </summary>
    [Fact]
    public async Task Screenshots_of_each_tab()
    {
        await mesh.AraeBundleAsync(); // the discriminator scores samples of adversarial bundles
        var target = Environment.GetEnvironmentVariable("LLMMESH_SCREENSHOTS");
        var keep = !string.IsNullOrEmpty(target);
        var directory = keep ? Directory.CreateDirectory(target!).FullName : Directory.CreateTempSubdirectory("llmmesh-screens-").FullName;
        try
        {
            await TakeScreenshotsAsync(directory);
        }
        finally
        {
            if (!keep)
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private async Task TakeScreenshotsAsync(string directory)
    {
        await using var session = await OpenAsync(new ViewportSize { Width = 1100, Height = 900 });
        var page = session.Page;
        await page.GetByTestId("prompt").FillAsync("a man riding a horse on a beach");
        await page.GetByLabel("Samples", new() { Exact = true }).FillAsync("3");
        await page.GetByLabel("Seed").FillAsync("7");
        await page.GetByTestId("generate").ClickAsync();
        await Expect(page.Locator("[data-testid=probability]")).ToHaveCountAsync(3, new() { Timeout = Timeout });
        await page.Locator(".nearest-button").First.ClickAsync();
        await Expect(page.Locator(".neighbors li")).ToHaveCountAsync(5, new() { Timeout = Timeout });
        await page.ScreenshotAsync(new() { Path = Path.Combine(directory, "playground-generate.png"), FullPage = true });

        await page.GetByRole(AriaRole.Tab, new() { Name = "Interpolate" }).ClickAsync();
        await page.GetByTestId("interpolate-start").FillAsync("a man riding a horse on a beach");
        await page.GetByTestId("interpolate-end").FillAsync("a plate of food on a table");
        await page.GetByTestId("interpolate").ClickAsync();
        await Expect(page.Locator("[data-testid=interpolation] > li[data-done=true]")).ToHaveCountAsync(8, new() { Timeout = Timeout });
        await page.ScreenshotAsync(new() { Path = Path.Combine(directory, "playground-interpolate.png"), FullPage = true });

        // A quick run long enough to chart, then cancelled.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Train" }).ClickAsync();
        await Expect(page.GetByLabel("Corpus").Locator("option[value=coco]")).ToHaveCountAsync(1, new() { Timeout = Timeout });
        await page.GetByTestId("start-run").ClickAsync();
        await Expect(page.GetByTestId("loss-chart")).ToHaveAttributeAsync("data-points", new System.Text.RegularExpressions.Regex("^([6-9]|[1-9][0-9]+)$"),
            new() { Timeout = (float)TimeSpan.FromMinutes(3).TotalMilliseconds });
        await page.ScreenshotAsync(new() { Path = Path.Combine(directory, "playground-train.png"), FullPage = true });
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" }).ClickAsync();
        await Expect(page.Locator("#run-status")).ToContainTextAsync("cancelled", new() { Timeout = Timeout });

        Assert.All(new[] { "generate", "interpolate", "train" }, name => Assert.True(new FileInfo(Path.Combine(directory, $"playground-{name}.png")).Length > 10_000));
        session.AssertStayedOnTheGateway();
    }

    private static float Timeout => (float)Patience.TotalMilliseconds;

    /// <summary>
    /// A fresh browser context on the playground, recording every request the page makes. The
    /// gateway is the host's, or LLMMESH_PLAYGROUND_URL's (screenshots of a trained model).
    /// </summary>
    private async Task<PageSession> OpenAsync(ViewportSize? viewport = null)
    {
        await mesh.App.ResourceNotifications.WaitForResourceHealthyAsync("gateway", new CancellationTokenSource(Patience).Token);
        var gateway = Environment.GetEnvironmentVariable("LLMMESH_PLAYGROUND_URL") is { Length: > 0 } url ? new Uri(url) : mesh.App.GetEndpoint("gateway", "http");
        var context = await browser.Browser.NewContextAsync(new() { ViewportSize = viewport ?? new ViewportSize { Width = 1280, Height = 900 }, BaseURL = gateway.ToString() });
        context.SetDefaultTimeout((float)Patience.TotalMilliseconds / 2);
        var page = await context.NewPageAsync();
        var session = new PageSession(context, page, gateway);
        page.Request += (_, request) => session.Requests.Add(request.Url);
        page.PageError += (_, error) => session.ScriptErrors.Add(error);
        var clock = Stopwatch.StartNew();
        await page.GotoAsync("/");
        await Expect(page.GetByTestId("model").Locator("option")).Not.ToHaveCountAsync(0, new() { Timeout = Timeout });
        session.LoadTime = clock.Elapsed;
        return session;
    }

    private sealed class PageSession(IBrowserContext context, IPage page, Uri gateway) : IAsyncDisposable
    {
        public IPage Page => page;

        public ConcurrentBag<string> Requests { get; } = [];

        public ConcurrentBag<string> ScriptErrors { get; } = [];

        public TimeSpan LoadTime { get; set; }

        /// <summary>Every request went to the gateway's origin (no CDN, no font, no analytics), and no script failed.</summary>
        public void AssertStayedOnTheGateway()
        {
            Assert.NotEmpty(Requests);
            Assert.All(Requests, url =>
            {
                var uri = new Uri(url);
                Assert.True(uri.Scheme is "data" || (uri.Host == gateway.Host && uri.Port == gateway.Port), $"the page requested {url}");
            });
            Assert.Empty(ScriptErrors);
        }

        public async ValueTask DisposeAsync() => await context.CloseAsync();
    }
}
