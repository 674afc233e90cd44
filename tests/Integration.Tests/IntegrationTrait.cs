// Every test here starts the AppHost: `dotnet test --filter "Category!=Integration"` runs the fast suite without them.
[assembly: AssemblyTrait("Category", "Integration")]
