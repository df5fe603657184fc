using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenAI;

namespace Eccos.Scheduling.Simulation;

/// <summary>
/// An OpenAI-compatible HTTP server (ASP.NET Core Kestrel) that simulates LLM models: latency, token usage, streaming
/// with usage, rate and concurrency limits answered with 429 and <c>Retry-After</c>, 500s, 503s, hangs and dropped
/// connections, all deterministic under a seed, and exact counters per model. For tests in-process, or as a standalone
/// process (see README.md).
/// </summary>
/// <remarks>
/// <para>
/// <b>Endpoints.</b> <c>POST /v1/chat/completions</c> (JSON, or server-sent events when <c>"stream": true</c>),
/// <c>GET /v1/models</c>, <c>GET /stats</c> (<c>{"models": {name: <see cref="SimulatedModelStats"/>}}</c>, camelCase) and
/// <c>POST /reset</c> (<see cref="Reset"/>). Errors have OpenAI's shape, <c>{"error": {"message", "type", "param",
/// "code"}}</c>; an unknown model gets 404 <c>model_not_found</c>.
/// </para>
/// <para>
/// <b>Clients.</b> The OpenAI .NET SDK's <c>OpenAIClientOptions.Endpoint</c> is <see cref="BaseAddress"/> (the server
/// root plus <c>v1/</c>; the SDK appends <c>/chat/completions</c>). <see cref="CreateChatClient(string)"/> builds the
/// SDK's <see cref="IChatClient"/> with the SDK's own retries off, so that 429s and 5xx reach the caller.
/// </para>
/// <para>
/// <b>Thread safety and disposal.</b> All members are thread-safe. <see cref="DisposeAsync"/> cancels every request in
/// flight (hangs included; their connections are aborted and they count as cancelled, a hang as failed), stops Kestrel
/// and frees the port; calling it again does nothing. <see cref="Stats"/>, <see cref="AllStats"/> and
/// <see cref="Model"/> still work after disposal.
/// </para>
/// </remarks>
public sealed class SimulatedProvider : IAsyncDisposable
{
    private static readonly JsonSerializerOptions StatsJson = new(JsonSerializerDefaults.Web);

    private readonly WebApplication _app;
    private readonly Dictionary<string, SimulatedModel> _models;
    private readonly CancellationTokenSource _stopping;
    private int _disposed;

    private SimulatedProvider(WebApplication app, Dictionary<string, SimulatedModel> models, CancellationTokenSource stopping, Uri root)
    {
        _app = app;
        _models = models;
        _stopping = stopping;
        RootAddress = root;
        BaseAddress = new Uri(root, "v1/");
    }

    /// <summary>
    /// Gets the address to give the OpenAI SDK as <c>OpenAIClientOptions.Endpoint</c>: <c>http://127.0.0.1:{port}/v1/</c>
    /// (with or without the trailing slash, the SDK then requests <c>/v1/chat/completions</c>).
    /// </summary>
    public Uri BaseAddress { get; }

    /// <summary>Gets the server root, <c>http://127.0.0.1:{port}/</c>, where <c>/stats</c> and <c>/reset</c> are.</summary>
    public Uri RootAddress { get; }

    /// <summary>Gets the names of the simulated models, in ordinal order.</summary>
    public IReadOnlyList<string> ModelNames => [.. _models.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Starts a server for the given models and returns once it listens.</summary>
    /// <param name="options">The models and the address; validated and copied.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running provider; dispose it to stop it.</returns>
    /// <exception cref="ArgumentException">An option is invalid (named in the message).</exception>
    /// <exception cref="IOException">The address is in use.</exception>
    public static async Task<SimulatedProvider> StartAsync(SimulatedProviderOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        SimulatedProviderOptions copy = options.ValidatedCopy();
        var models = copy.Models.ToDictionary(m => m.Key, m => new SimulatedModel(m.Key, m.Value, copy.Seed, copy.TimeProvider), StringComparer.Ordinal);
        var stopping = new CancellationTokenSource();

        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls(copy.Url ?? "http://127.0.0.1:0");
        builder.Services.AddRoutingCore();
        builder.Services.AddSingleton<IHostLifetime, ProviderControlledLifetime>();
        WebApplication app = builder.Build();

        var chat = new ChatCompletionsHandler(models, copy.TimeProvider, stopping.Token);
        app.MapPost("/v1/chat/completions", chat.HandleAsync);
        app.MapGet("/v1/models", http => OpenAIWire.WriteJsonAsync(http.Response, OpenAIWire.ModelList(models.Keys.Order(StringComparer.Ordinal)), http.RequestAborted));
        app.MapGet("/stats", http => http.Response.WriteAsJsonAsync(new StatsDocument(Snapshot(models)), StatsJson, http.RequestAborted));
        app.MapPost("/reset", http =>
        {
            ResetAll(models);
            http.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        });

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            stopping.Dispose();
            throw;
        }

        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new SimulatedProvider(app, models, stopping, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>Builds the official OpenAI SDK's chat client for a standalone server, with the SDK's retries off.</summary>
    /// <param name="baseAddress">The server's <see cref="BaseAddress"/> (root plus <c>v1/</c>).</param>
    /// <param name="model">The model to call.</param>
    /// <returns><c>new OpenAIClient(new ApiKeyCredential("test"), new OpenAIClientOptions { Endpoint = baseAddress, RetryPolicy = new ClientRetryPolicy(maxRetries: 0) }).GetChatClient(model).AsIChatClient()</c>.</returns>
    public static IChatClient CreateChatClient(Uri baseAddress, string model)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        ArgumentException.ThrowIfNullOrEmpty(model);
        var options = new OpenAIClientOptions { Endpoint = baseAddress, RetryPolicy = new ClientRetryPolicy(maxRetries: 0) };
        return new OpenAIClient(new ApiKeyCredential("test"), options).GetChatClient(model).AsIChatClient();
    }

    /// <summary>Builds the official OpenAI SDK's chat client for one of this server's models, with the SDK's retries off.</summary>
    /// <param name="model">The model to call (need not exist: an unknown one answers 404).</param>
    /// <returns>The client; disposing it is optional.</returns>
    public IChatClient CreateChatClient(string model) => CreateChatClient(BaseAddress, model);

    /// <summary>Reads <c>GET /stats</c> of a server, in-process or standalone.</summary>
    /// <param name="http">The client to send with.</param>
    /// <param name="rootAddress">The server's <see cref="RootAddress"/>, such as <c>http://127.0.0.1:5055/</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Every model's counters, by name.</returns>
    /// <exception cref="HttpRequestException">The server did not answer with 200.</exception>
    public static async Task<IReadOnlyDictionary<string, SimulatedModelStats>> GetStatsAsync(HttpClient http, Uri rootAddress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(rootAddress);
        StatsDocument? stats = await http.GetFromJsonAsync<StatsDocument>(new Uri(rootAddress, "/stats"), StatsJson, cancellationToken).ConfigureAwait(false);
        return stats?.Models ?? throw new HttpRequestException("GET /stats returned null.");
    }

    /// <summary>Sends <c>POST /reset</c> to a server, in-process or standalone: <see cref="Reset"/> over HTTP.</summary>
    /// <param name="http">The client to send with.</param>
    /// <param name="rootAddress">The server's <see cref="RootAddress"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes once the server has reset.</returns>
    /// <exception cref="HttpRequestException">The server did not answer with a success code.</exception>
    public static async Task ResetAsync(HttpClient http, Uri rootAddress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(rootAddress);
        using HttpResponseMessage response = await http.PostAsync(new Uri(rootAddress, "/reset"), content: null, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Gets a running model, to read its counters or change its behaviour.</summary>
    /// <param name="name">The model's name.</param>
    /// <returns>The model.</returns>
    /// <exception cref="KeyNotFoundException">No model has that name.</exception>
    public SimulatedModel Model(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _models.TryGetValue(name, out SimulatedModel? model) ? model : throw new KeyNotFoundException($"The simulated provider has no model '{name}'.");
    }

    /// <summary>Gets a snapshot of one model's counters.</summary>
    /// <param name="model">The model's name.</param>
    /// <returns>The counters.</returns>
    /// <exception cref="KeyNotFoundException">No model has that name.</exception>
    public SimulatedModelStats Stats(string model) => Model(model).Stats();

    /// <summary>Gets a snapshot of every model's counters, by name in ordinal order.</summary>
    /// <returns>The counters.</returns>
    public IReadOnlyDictionary<string, SimulatedModelStats> AllStats() => Snapshot(_models);

    /// <summary>
    /// Zeroes every model's counters (maxima restart from what is in flight now), empties the rate windows and re-seeds
    /// the random numbers, so what follows repeats a fresh start. Requests in flight go on and are counted when they end
    /// (in the new counters, though their arrival was in the old ones).
    /// </summary>
    public void Reset() => ResetAll(_models);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static Dictionary<string, SimulatedModelStats> Snapshot(Dictionary<string, SimulatedModel> models) =>
        models.Keys.Order(StringComparer.Ordinal).ToDictionary(name => name, name => models[name].Stats(), StringComparer.Ordinal);

    private static void ResetAll(Dictionary<string, SimulatedModel> models)
    {
        foreach (SimulatedModel model in models.Values)
        {
            model.Reset();
        }
    }

    /// <summary>The <c>/stats</c> body.</summary>
    internal sealed record StatsDocument(IReadOnlyDictionary<string, SimulatedModelStats> Models);

    /// <summary>
    /// The host's lifetime is the provider's: no Ctrl+C or SIGTERM handlers in the process that hosts it (the exe
    /// installs its own), no start-up messages.
    /// </summary>
    private sealed class ProviderControlledLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
