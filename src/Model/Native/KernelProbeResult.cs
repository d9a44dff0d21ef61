namespace BiT.Model.Native;

/// <summary>
/// What the child-process probe of oneDNN found: passed or not, and in words (exit status, time).
/// <paramref name="Conclusive"/> is false where the child said nothing about the kernels (it timed out or could not
/// be started): such a verdict is not cached.
/// </summary>
public sealed record KernelProbeResult(bool Passed, string Detail, bool Conclusive = true);
