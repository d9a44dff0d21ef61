Console.WriteLine("bit-operator: not implemented yet");
return 2;
