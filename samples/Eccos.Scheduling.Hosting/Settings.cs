namespace Eccos.Scheduling.Hosting;

/// <summary>The pool section of appsettings.json.</summary>
internal sealed class PoolSettings
{
    /// <summary>Gets or sets the outcome log the router appends every call to.</summary>
    public string OutcomeLog { get; set; } = "outcomes.jsonl";

    /// <summary>Gets the models of the pool.</summary>
    public List<ModelSettings> Models { get; } = [];
}

/// <summary>One OpenAI-compatible model.</summary>
internal sealed class ModelSettings
{
    public string Name { get; set; } = "";

    public string Endpoint { get; set; } = "https://api.openai.com/v1";

    public string? ModelId { get; set; }

    public string ApiKey { get; set; } = "";

    public double InputPricePerMillionTokens { get; set; }

    public double OutputPricePerMillionTokens { get; set; }

    public int? Capacity { get; set; }
}
