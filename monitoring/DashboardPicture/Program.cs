using BiT.Monitoring.DashboardPicture;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: DashboardPicture <recording.json> <picture.png>");
    return 2;
}

try
{
    var recording = Recording.Load(args[0]);
    File.WriteAllBytes(args[1], DashboardRenderer.Render(recording));
    Console.WriteLine($"{args[1]}: {recording.Panels.Count} panels, {recording.Panels.Sum(p => p.Series.Count)} series over {recording.End - recording.Start} s");
    return 0;
}
catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidDataException)
{
    Console.Error.WriteLine($"DashboardPicture: {e.Message}");
    return 1;
}
