// A Generic Host that serves chat through an Eccos router over OpenAI-compatible endpoints (a local Ollama, OpenAI,
// Azure OpenAI, vLLM, ...) configured in appsettings.json. Every call is appended to an outcome log, and the router's
// predictor warm-starts from that log on the next start: the more it serves, the better it routes.
//
//   dotnet run --project samples/Eccos.Scheduling.Hosting -- "Explain the CAP theorem in two sentences."
//
// Models with an empty ApiKey are skipped (put keys in user secrets or environment variables, e.g.
// EccosPool__Models__2__ApiKey), so the sample runs against a local Ollama alone.
using System.ClientModel;
using Eccos.Scheduling;
using Eccos.Scheduling.Hosting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenAI;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
PoolSettings pool = builder.Configuration.GetSection("EccosPool").Get<PoolSettings>() ?? new PoolSettings();
builder.Services.Configure<EccosOptions>(EccosBuilder.DefaultName, builder.Configuration.GetSection("Eccos"));

// The outcome log: the router writes every call to it; the kNN predictor starts from what it holds (and its most
// recent queries give the first prices), then learns from every call.
builder.Services.AddSingleton(_ => new OutcomeLogWriter(pool.OutcomeLog));
EccosBuilder eccos = builder.Services.AddEccos() // the default router: the container's IChatClient
    .UseKnnPredictor(_ => File.Exists(pool.OutcomeLog) ? [.. OutcomeLog.Read(pool.OutcomeLog)] : [])
    .AddOutcomeSink(sp => sp.GetRequiredService<OutcomeLogWriter>());
foreach (ModelSettings model in pool.Models.Where(m => !string.IsNullOrEmpty(m.ApiKey)))
{
    // Each pool model is an ordinary keyed IChatClient: the container owns it, the router only routes to it.
    builder.Services.AddKeyedChatClient(model.Name, _ =>
            new OpenAIClient(new ApiKeyCredential(model.ApiKey), new OpenAIClientOptions { Endpoint = new Uri(model.Endpoint) })
                .GetChatClient(model.ModelId ?? model.Name)
                .AsIChatClient())
        .UseLogging();
    eccos.AddModel(model.Name, new ModelProfile(model.Name, model.InputPricePerMillionTokens, model.OutputPricePerMillionTokens, model.Capacity));
}

using IHost host = builder.Build();
await host.StartAsync(); // validates the Eccos options (ValidateOnStart)

IChatClient chat = host.Services.GetRequiredService<IChatClient>();
string prompt = args.Length > 0 ? string.Join(' ', args) : "In one sentence: why is the sky blue?";
ChatResponse response = await chat.GetResponseAsync(prompt);
var decision = (EccosDecision?)response.AdditionalProperties?[EccosDecision.PropertyKey];
Console.WriteLine(response.Text);
Console.WriteLine($"-- {decision}");
if (decision?.Candidates.FirstOrDefault(c => c.Model == decision.Model) is { } chosen)
{
    Console.WriteLine($"-- predicted quality {chosen.PredictedQuality:F2}, predicted cost {chosen.PredictedCost:G3}; prices {decision.Prices?.ToString() ?? "(not solved yet)"}");
}

await host.StopAsync();
