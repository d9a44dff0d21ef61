namespace BiT.Model.Native;

/// <summary>What the child-process probe of oneDNN found: passed or not, and in words (exit status, time).</summary>
public sealed record KernelProbeResult(bool Passed, string Detail);
