fn main() -> anyhow::Result<()> {
    electrons::cli::main()
}
