using System.Diagnostics;
using System.Globalization;
using NetVips;

// The fine-tune augmentation with libvips, one thread, on every JPEG of DIR/train (bench/images/make_images.py):
// thumbnail to a precrop x precrop square (libvips shrinks on load, then resizes), a random crop x crop window,
// a random horizontal flip, and the trainer's float CHW in [-1, 1]. Prints
// "RESULT vips augment <precrop>-><crop> <images/s> <cores>" like TrainerPipeline's images mode.
//   VipsImages DIR [--precrop 160] [--crop 128] [--seconds 5]
var options = args.Select((a, i) => (a, i)).Where(p => p.a.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(p => p.a[2..], p => p.i + 1 < args.Length ? args[p.i + 1] : "", StringComparer.Ordinal);
int Int(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
int precrop = Int("precrop", 160), crop = Int("crop", 128), seconds = Int("seconds", 5);
var files = Directory.GetFiles(Path.Combine(args[0], "train"), "*.jpg", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
// One thread, no operation cache: the same footing as one trainer worker.
NetVips.NetVips.Concurrency = 1;
Cache.Max = 0;
var destination = new float[3 * crop * crop];
var random = new Random(0);

void One(string file)
{
    using var square = Image.Thumbnail(file, precrop, height: precrop, size: Enums.Size.Force);
    using var window = square.Crop(random.Next(precrop - crop + 1), random.Next(precrop - crop + 1), crop, crop);
    using var flipped = random.Next(2) == 0 ? window.Copy() : window.FlipHor();
    var bytes = flipped.WriteToMemory<byte>();
    int plane = crop * crop, bands = flipped.Bands;
    for (var i = 0; i < plane; i++)
    {
        for (var c = 0; c < 3; c++)
        {
            destination[(c * plane) + i] = (bytes[(i * bands) + Math.Min(c, bands - 1)] / 127.5f) - 1f;
        }
    }
}

foreach (var file in files.Take(8))
{
    One(file);
}
var process = Process.GetCurrentProcess();
process.Refresh();
var cpu = process.TotalProcessorTime;
var watch = Stopwatch.StartNew();
long count = 0;
while (watch.Elapsed.TotalSeconds < seconds)
{
    foreach (var file in files)
    {
        One(file);
    }
    count += files.Length;
}
var wall = watch.Elapsed.TotalSeconds;
process.Refresh();
var cores = (process.TotalProcessorTime - cpu).TotalSeconds / wall;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT vips augment {precrop}->{crop} {count / wall:0.0} {cores:0.00} libvips {NetVips.NetVips.Version(0)}.{NetVips.NetVips.Version(1)}.{NetVips.NetVips.Version(2)}"));
