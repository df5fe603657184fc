namespace Eccos.Scheduling.Cli;

/// <summary>
/// Report files written all-or-nothing: each is written to a temporary file beside its destination and moved into
/// place by <see cref="Commit"/>; disposing without committing deletes the temporary files.
/// </summary>
internal sealed class OutputFiles : IDisposable
{
    private readonly List<(string Temp, string Final)> _files = [];
    private bool _committed;

    /// <summary>Checks a destination up front: its folder exists, it is not a folder, and it is not given twice.</summary>
    /// <exception cref="CliUsageException">The destination cannot be written.</exception>
    public static string Check(string option, string path, ISet<string> taken)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new CliUsageException($"{option}: '{path}' is a folder; give a file name.");
        }

        string? folder = Path.GetDirectoryName(full);
        if (folder is null || !Directory.Exists(folder))
        {
            throw new CliUsageException($"{option}: folder '{folder ?? path}' does not exist.");
        }

        if (!taken.Add(full))
        {
            throw new CliUsageException($"{option}: '{path}' is also the destination of another report.");
        }

        return full;
    }

    /// <summary>Returns a temporary path to write <paramref name="finalPath"/>'s content to.</summary>
    public string Reserve(string finalPath)
    {
        string folder = Path.GetDirectoryName(finalPath)!;
        string temp = Path.Combine(folder, $".{Path.GetFileName(finalPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        _files.Add((temp, finalPath));
        return temp;
    }

    /// <summary>Moves every temporary file into place.</summary>
    public void Commit()
    {
        foreach ((string temp, string final) in _files)
        {
            File.Move(temp, final, overwrite: true);
        }

        _committed = true;
    }

    public void Dispose()
    {
        if (_committed)
        {
            return;
        }

        foreach ((string temp, _) in _files)
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // Best effort: a leftover temporary file is harmless and named as such.
            }
            catch (UnauthorizedAccessException)
            {
                // Same as above.
            }
        }
    }
}
