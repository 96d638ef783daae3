//! The shared page frame (`templates/base.html`): title, navigation, who is
//! signed in, the flash message and the asset URLs.

use super::assets;
use super::flash::FlashView;

/// A link in the site navigation.
#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What the shared page frame (`templates/base.html`) needs.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub nav: Vec<NavLink>,
    /// The signed-in person's name, for the header.
    pub user_name: Option<String>,
    pub role_label: &'static str,
    /// The session's CSRF token, for the log-out form.
    pub csrf: String,
    pub flash: Option<FlashView>,
    /// The time zone the page's times are shown in.
    pub tz: String,
    /// Whether the page shows times in the visitor's zone (the script reloads
    /// it once when it learns the browser's zone).
    pub tz_sensitive: bool,
    pub css: &'static str,
    pub js: &'static str,
    pub icon: &'static str,
}

impl Layout {
    /// A frame with no navigation state, for error pages.
    pub fn bare(title: &str) -> Self {
        Layout {
            title: title.to_owned(),
            nav: Vec::new(),
            user_name: None,
            role_label: "",
            csrf: String::new(),
            flash: None,
            tz: "UTC".to_owned(),
            tz_sensitive: false,
            css: assets::url("app.css"),
            js: assets::url("app.js"),
            icon: assets::url("icon.svg"),
        }
    }
}
