fn main() {
    std::process::exit(kubectl_sts::main_with_args(std::env::args_os().collect()));
}
