namespace Eccos.Scheduling.Tests.TestSupport;

/// <summary>
/// Locates the recorded outcome datasets that live beside the repository (<c>../shared/data</c>), or in
/// <c>ECCOS_SHARED_DATA</c>. Tests that need them call <see cref="RequireDataset"/>: it ignores the test with
/// "skipped: shared data not found" when the data is absent, and fails it instead when
/// <c>ECCOS_REQUIRE_SHARED_DATA=1</c> (as CI sets).
/// </summary>
internal static class SharedData
{
    public const string SkipMessage = "skipped: shared data not found";

    public static string? Root { get; } = FindRoot();

    public static string RequireDataset(string name)
    {
        string? dir = Root is null ? null : Path.Combine(Root, name);
        if (dir is not null && File.Exists(Path.Combine(dir, "outcomes.jsonl")) && File.Exists(Path.Combine(dir, "models.json")))
        {
            return dir;
        }

        if (Environment.GetEnvironmentVariable("ECCOS_REQUIRE_SHARED_DATA") == "1")
        {
            Assert.Fail($"{SkipMessage} (dataset '{name}'; looked in {Root ?? "../shared/data beside the repository"}) and ECCOS_REQUIRE_SHARED_DATA=1");
        }

        Assert.Ignore(SkipMessage);
        return string.Empty; // unreachable: Assert.Ignore throws
    }

    private static string? FindRoot()
    {
        string? env = Environment.GetEnvironmentVariable("ECCOS_SHARED_DATA");
        if (!string.IsNullOrEmpty(env))
        {
            return Directory.Exists(env) ? Path.GetFullPath(env) : null;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Eccos.Scheduling.sln")))
            {
                string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
                return Directory.Exists(candidate) ? candidate : null;
            }
        }

        return null;
    }
}
