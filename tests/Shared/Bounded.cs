using System.Diagnostics;

namespace Eccos.Scheduling.Testing;

/// <summary>Bounded waits shared by the test projects that talk to a real server (linked, not referenced).</summary>
internal static class Bounded
{
    /// <summary>Polls <paramref name="condition"/> every 10 ms until it holds; fails the test after <paramref name="bound"/>.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan bound)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > bound)
            {
                Assert.Fail($"Not within {bound}: {what}.");
            }

            await Task.Delay(10);
        }
    }
}
