// Keeps a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // WebKitGTK's compositing mode, on the software rendering a shop PC or a
    // VM often has, halves paint speed (scan-to-profile p99 105-221 ms with
    // it, ~60 ms without) and adds ~65 MB; the till's flat UI gains nothing
    // from it. Set before any thread starts, so WebKit's child processes
    // inherit it. A user who sets the variable themselves keeps their value.
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    regulars_app_lib::run();
}
