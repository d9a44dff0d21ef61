using BiT.Monitoring.DashboardPicture;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: DashboardPicture <recording.json> <picture.png>");
    return 2;
}

try
{
    var recording = Recording.Load(args[0]);
    // The recording's hash goes into the picture, so that a test can tell the picture shows the committed recording.
    File.WriteAllBytes(args[1], PngText.Stamp(DashboardRenderer.Render(recording), PngText.RecordingSha256, PngText.Sha256Of(args[0])));
    Console.WriteLine($"{args[1]}: {recording.Panels.Count} panels, {recording.Panels.Sum(p => p.Series.Count)} series over {recording.End - recording.Start} s");
    return 0;
}
catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidDataException)
{
    Console.Error.WriteLine($"DashboardPicture: {e.Message}");
    return 1;
}
