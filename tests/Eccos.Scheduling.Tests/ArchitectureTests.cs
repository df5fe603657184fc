using System.Text.RegularExpressions;

namespace Eccos.Scheduling.Tests;

/// <summary>
/// The rooms of src/Eccos.Scheduling (docs/architecture.md) and which may use which: a file may name the types of
/// its own room and of the rooms below it, never of a room above. Read from the source: every type declared in a room
/// is that room's, and a file's code (comments and strings left out) is searched for the names of the others.
/// </summary>
public partial class ArchitectureTests
{
    /// <summary>What each room may use besides itself.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new(StringComparer.Ordinal)
    {
        ["Contracts"] = [],
        ["Persistence"] = [],
        ["Predict"] = ["Contracts", "Persistence"],
        ["Solve"] = ["Contracts"],
        ["Target"] = ["Contracts", "Persistence", "Predict", "Solve"],
        ["Observe"] = ["Contracts"],
        ["Dispatch"] = ["Contracts", "Persistence", "Predict", "Solve", "Target", "Observe"],
    };

    [Test]
    public void Every_room_uses_only_the_rooms_below_it()
    {
        string root = Path.Combine(RepositoryRoot(), "src", "Eccos.Scheduling");
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (Path: f, Room: Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar)[0], Code: CodeOnly(File.ReadAllText(f))))
            .ToList();
        Assert.That(files.Select(f => f.Room).Distinct(), Is.SubsetOf(Allowed.Keys), "every source file lives in a room (a top-level folder)");

        var roomOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string _, string room, string code) in files)
        {
            foreach (Match m in Declaration().Matches(code))
            {
                roomOf.TryAdd(m.Groups[1].Value, room);
            }
        }

        var violations = new List<string>();
        foreach ((string path, string room, string code) in files)
        {
            foreach (string used in Identifier().Matches(code).Select(m => m.Value).Distinct(StringComparer.Ordinal))
            {
                if (roomOf.TryGetValue(used, out string? owner) && owner != room && !Allowed[room].Contains(owner))
                {
                    violations.Add($"{Path.GetRelativePath(root, path)} ({room}) uses {used} ({owner})");
                }
            }
        }

        Assert.That(violations, Is.Empty);
    }

    [Test]
    public void The_core_package_declares_no_evaluation_dataset_or_command_line_types()
    {
        string api = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", "Eccos.Scheduling", "PublicAPI.Unshipped.txt"));
        Assert.Multiple(() =>
        {
            foreach (string name in (string[])["ScheduleEvaluator", "EvaluationOptions", "EvaluationReport", "OutcomeDataset", "ModelCatalog", "PredictionMetrics", "AssignmentSolverRegistry", "CostQualityFrontier"])
            {
                Assert.That(api, Does.Not.Contain(name), name);
            }
        });
    }

    /// <summary>The source without comments, string and character literals (so that a doc mention is no dependency).</summary>
    private static string CodeOnly(string source) => Literals().Replace(source, " ");

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Eccos.Scheduling.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Eccos.Scheduling.sln) was not found above the test binaries.");
    }

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|@""(?:[^""]|"""")*""|""""""[\s\S]*?""""""|\$?""(?:\\.|[^""\\\n])*""|'(?:\\.|[^'\\\n])'", RegexOptions.Singleline)]
    private static partial Regex Literals();

    [GeneratedRegex(@"\b(?:class|struct|interface|enum|record(?:\s+struct)?)\s+([A-Z]\w*)")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"(?<![.\w])[A-Z]\w*\b")] // not after a dot: File.Move is no use of a type named Move
    private static partial Regex Identifier();
}
