fn main() {
    fieldbook::start();
}
