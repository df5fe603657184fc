using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Tests.Predict.Calibration;

/// <summary>
/// The mmlu-pro dataset loaded once per test run, with its fixed train/test split and a seeded 80/20 split of train
/// into a fit slice (for predictors) and a validation slice (for calibration and blending).
/// </summary>
internal sealed class MmluPro
{
    public const int SplitSeed = 17;
    public const double FitFraction = 0.8;
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static MmluPro? _loaded;

    private MmluPro(OutcomeDataset dataset)
    {
        Dataset = dataset;
        (Train, Test) = dataset.Split();
        var order = Enumerable.Range(0, Train.Count).ToArray();
        new Random(SplitSeed).Shuffle(order);
        int cut = (int)Math.Round(Train.Count * FitFraction);
        var isFit = new bool[Train.Count];
        for (int k = 0; k < cut; k++)
        {
            isFit[order[k]] = true;
        }

        Fit = Train.Where((_, i) => isFit[i]).ToList();
        Validation = Train.Where((_, i) => !isFit[i]).ToList();
    }

    public OutcomeDataset Dataset { get; }

    public IReadOnlyList<ModelProfile> Models => Dataset.Catalog.Models;

    public IReadOnlyList<OutcomeRecord> Train { get; }

    public IReadOnlyList<OutcomeRecord> Test { get; }

    public IReadOnlyList<OutcomeRecord> Fit { get; }

    public IReadOnlyList<OutcomeRecord> Validation { get; }

    /// <summary>Loads the dataset (ignoring the test when the shared data is absent).</summary>
    public static async Task<MmluPro> LoadAsync()
    {
        string dir = SharedData.RequireDataset("mmlu-pro");
        await Gate.WaitAsync();
        try
        {
            _loaded ??= new MmluPro(await OutcomeDataset.LoadAsync(dir));
            RoutingExperiment.MmluProModels = _loaded.Models;
            return _loaded;
        }
        finally
        {
            Gate.Release();
        }
    }
}
