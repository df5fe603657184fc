// Eccos.Scheduling quickstart — fully offline, no keys, under a minute:
//
//   dotnet run -c Release --project samples/Eccos.Scheduling.Quickstart
//
// Five simulated models (cheap/weak to expensive/strong, each with its own topic strengths, real token usage and
// latency, one of them flaky) serve 1,000 live questions, arriving at random at 400 a second, through the real router: a kNN predictor over a hashing
// embedder, warm-started from 1,500 synthetic past outcomes, a target curve fitted on them, the Lagrangian solver's
// prices, capacities and failover.
// The router learns from every call (an exact-match grader is its quality signal). At the end it prints the routing
// table and what each model alone would have cost and scored on the same questions.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Eccos.Scheduling;
using Eccos.Scheduling.Quickstart;
using Microsoft.Extensions.AI;

const int HistorySize = 1_500, Requests = 1_000, RequestsPerSecond = 400;
const double Alpha = 0.80;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var clock = Stopwatch.StartNew();

var world = new SimulatedWorld();
IReadOnlyList<SimulatedQuery> past = world.Questions("h", HistorySize, seed: 1);
IReadOnlyList<SimulatedQuery> live = world.Questions("q", Requests, seed: 2);
List<OutcomeRecord> history = [.. past.Select(world.Record)];

// Predict: kNN over the past outcomes, embedded offline by feature hashing.
using HashingEmbeddingGenerator embedder = HashingEmbeddingGenerator.Fit(history.Select(r => r.Text));
KnnPredictor predictor = await KnnPredictor.CreateAsync(history, embedder);
var solver = new LagrangianAssignmentSolver();

// Target curve: predictions overstate the quality of what the solver picks, so learn (by cross-fitting the same kNN
// recipe on the history) the target t(α) to solve for so that the realized quality reaches α.
QualityTargetCurve curve = await QualityTargetCurve.FitCrossFittedAsync(
    async (train, ct) => await KnnPredictor.CreateAsync(train, embedder, cancellationToken: ct),
    solver,
    history,
    [.. world.Models.Select(m => m.Profile)],
    new QualityTargetCurveOptions { Capacities = [.. world.Models.Select(_ => AssignmentConstraints.Unlimited)] });

// Route: one IChatClient over the pool.
SimulatedChatClient[] clients = [.. world.Models.Select(m => new SimulatedChatClient(world, m))];
var builder = new EccosBuilder()
    .UsePredictor(predictor) // a KnnPredictor is also an IOutcomeSink: it learns from every call
    .UseSolver(solver)
    .WithQualityTarget(Alpha)
    .UseQualityTargetCurve(curve)
    .Configure(o => o.PriceRefreshInterval = TimeSpan.FromMilliseconds(250)) // a short run: refresh prices often
    .WarmUpWith(history.Select(r => r.ToQuery()))
    .UseQualitySignal((context, _) => ValueTask.FromResult<double?>(IsRight(context.Query.Text, context.Response.Text) ? 1 : 0));
foreach (SimulatedChatClient client in clients)
{
    builder.AddModel(client, client.Model.Profile, ownsClient: true);
}

await using EccosChatClient router = builder.Build();
for (int wait = 0; router.GetService<EccosPrices>() is null && wait < 500; wait++)
{
    await Task.Delay(10); // the warm-up solve runs in the background; requests never wait for it
}

Console.WriteLine($"Eccos.Scheduling quickstart: {world.Models.Count} simulated models, {HistorySize:N0} past outcomes, {Requests:N0} live requests at ~{RequestsPerSecond}/s, quality target α = {Alpha:F2}");
Console.WriteLine($"Target on predictions t({Alpha:F2}) = {router.TargetOnPredictions:F3}; warm-start prices {router.GetService<EccosPrices>()?.ToString() ?? "(none yet: threshold rule)"}");

// Serve the live traffic: requests arrive at random (a Poisson process), each on its own.
var served = new ConcurrentBag<(SimulatedQuery Query, EccosDecision Decision, ChatResponse Response)>();
var arrivals = new Random(3);
var inFlight = new List<Task>(Requests);
var traffic = Stopwatch.StartNew();
double at = 0;
foreach (SimulatedQuery q in live)
{
    at += -Math.Log(1 - arrivals.NextDouble()) / RequestsPerSecond;
    TimeSpan wait = TimeSpan.FromSeconds(at) - traffic.Elapsed;
    if (wait > TimeSpan.FromMilliseconds(1))
    {
        await Task.Delay(wait);
    }

    inFlight.Add(Task.Run(async () =>
    {
        var options = new ChatOptions { AdditionalProperties = new() { [EccosChatClient.TaskPropertyKey] = q.Topic.Name, [EccosChatClient.QueryIdPropertyKey] = q.Id } };
        ChatResponse response = await router.GetResponseAsync(q.Text, options);
        served.Add((q, (EccosDecision)response.AdditionalProperties![EccosDecision.PropertyKey]!, response));
    }));
}

await Task.WhenAll(inFlight);

// Report.
Console.WriteLine();
Console.WriteLine("Routing table");
Console.WriteLine($"{"model",-10} {"$/M in",7} {"$/M out",8} {"capacity",8} {"max busy",8} {"requests",8} {"share",6} {"failed",6} {"cost $",9} {"accuracy",8}");
double totalCost = 0;
int totalRight = 0;
foreach (SimulatedChatClient client in clients)
{
    string name = client.Model.Name;
    var mine = served.Where(s => s.Decision.Model == name).ToList();
    int failed = served.Sum(s => s.Decision.Attempts.Count(a => a.Model == name && a.Error is not null));
    double cost = mine.Sum(s => CostOf(client.Model, s.Response));
    int right = mine.Count(s => IsRight(s.Query.Text, s.Response.Text));
    totalCost += cost;
    totalRight += right;
    Console.WriteLine($"{name,-10} {client.Model.InputPrice,7:F2} {client.Model.OutputPrice,8:F2} {client.Model.Capacity,8} {client.MaxInFlight,8} {mine.Count,8} {(double)mine.Count / Requests,6:P0} {failed,6} {cost,9:F4} {(mine.Count == 0 ? "-" : ((double)right / mine.Count).ToString("P1", CultureInfo.InvariantCulture)),8}");
}

double eccosAccuracy = (double)totalRight / Requests;
double predictedQuality = served.Average(s => s.Decision.Candidates.FirstOrDefault(c => c.Model == s.Decision.Model)?.PredictedQuality ?? double.NaN);
Console.WriteLine($"{"Eccos",-10} {"",7} {"",8} {"",8} {"",8} {served.Count,8} {1,6:P0} {"",6} {totalCost,9:F4} {eccosAccuracy,8:P1}");
Console.WriteLine($"Mean predicted quality of the routed requests {predictedQuality:P1} (target t = {router.TargetOnPredictions:P1}); realized accuracy {eccosAccuracy:P1} (α = {Alpha:P0}).");
Console.WriteLine($"Prices now: {router.GetService<EccosPrices>()}");

Console.WriteLine();
Console.WriteLine("Every model alone on the same requests");
Console.WriteLine($"{"model",-10} {"cost $",9} {"accuracy",8}   Eccos vs this model");
foreach (SimulatedModel model in world.Models)
{
    double cost = live.Sum(q => model.Profile.CostOf(q.InputTokens, SimulatedWorld.OutputTokens(q, model)));
    double accuracy = live.Average(q => SimulatedWorld.Correct(q, model) ? 1.0 : 0.0);
    string versus = string.Create(CultureInfo.InvariantCulture, $"{(totalCost / cost) - 1:+0%;-0%} cost, {(eccosAccuracy - accuracy) * 100:+0.0;-0.0} accuracy points");
    Console.WriteLine($"{model.Name,-10} {cost,9:F4} {accuracy,8:P1}   {versus}");
}

Console.WriteLine();
Console.WriteLine($"Done in {clock.Elapsed.TotalSeconds:F1} s. The router learned from {Requests:N0} graded calls (the kNN index now holds {predictor.Count:N0} queries).");

bool IsRight(string question, string answer) => answer.EndsWith(world.Find(question).Key);

static double CostOf(SimulatedModel model, ChatResponse response) =>
    model.Profile.CostOf(response.Usage?.InputTokenCount ?? 0, response.Usage?.OutputTokenCount ?? 0);
