using System.Text;

namespace KubeEmulator.KubeletRuntime;

/// <summary>Splits an ImageMap command line into words the way a POSIX shell would (quotes and backslashes; no expansion).</summary>
internal static class CommandLineWords
{
    public static List<string> Split(string line)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        var inWord = false;
        var quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else if (c == '\\' && quote == '"' && i + 1 < line.Length)
                {
                    current.Append(line[++i]);
                }
                else
                {
                    current.Append(c);
                }
                continue;
            }
            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }
                continue;
            }
            inWord = true;
            if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '\\' && i + 1 < line.Length)
            {
                current.Append(line[++i]);
            }
            else
            {
                current.Append(c);
            }
        }
        if (quote != '\0')
        {
            throw new FormatException($"unterminated quote in command line: {line}");
        }
        if (inWord)
        {
            words.Add(current.ToString());
        }
        return words;
    }
}
