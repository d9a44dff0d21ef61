Console.WriteLine("bit-trainer: not implemented yet");
return 2;
