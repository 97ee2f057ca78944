fn main() {
    std::process::exit(launcher::main_entry());
}
