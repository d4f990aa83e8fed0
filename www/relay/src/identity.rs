//! Names and colours for the clients.

/// A client's display name and colour (`#rrggbb`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub color: String,
}

const ADJECTIVES: [&str; 16] = [
    "Swift", "Quiet", "Brave", "Lucky", "Clever", "Sunny", "Misty", "Jolly", "Nimble", "Rusty", "Witty",
    "Calm", "Bold", "Fuzzy", "Gentle", "Zesty",
];
const ANIMALS: [&str; 16] = [
    "Otter", "Falcon", "Panda", "Lynx", "Heron", "Koala", "Badger", "Gecko", "Walrus", "Finch", "Bison",
    "Crane", "Marmot", "Puffin", "Tapir", "Yak",
];

impl Identity {
    /// A name and colour that differ between consecutive ids: 256 names, and hues 137.5°
    /// (the golden angle) apart so that neighbours never look alike.
    pub fn for_id(id: u64) -> Self {
        let n = id.wrapping_sub(1);
        let adjective = ADJECTIVES[(n % 16) as usize];
        let animal = ANIMALS[((n / 16 + n * 7) % 16) as usize];
        let hue = (n as f64 * 137.507_764) % 360.0;
        Identity {
            name: format!("{adjective} {animal}"),
            color: hsl_to_hex(hue, 0.72, 0.47),
        }
    }

    /// The identity a reconnecting client asks to keep (`/ws?name=..&color=..`), if it is
    /// well-formed: 1 to 32 characters of letters, digits, spaces, `-`, `_` or `.`, and a
    /// `#rrggbb` colour. Anything else is ignored (the client gets a fresh identity).
    pub fn from_hint(name: Option<&str>, color: Option<&str>) -> Option<Self> {
        let name = name?.trim();
        let color = color?;
        let name_ok = !name.is_empty()
            && name.chars().count() <= 32
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'));
        let color_ok =
            color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit());
        (name_ok && color_ok).then(|| Identity {
            name: name.to_owned(),
            color: color.to_ascii_lowercase(),
        })
    }
}

/// HSL (hue in degrees, saturation and lightness 0..1) to `#rrggbb`.
fn hsl_to_hex(h: f64, s: f64, l: f64) -> String {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = (h.rem_euclid(360.0)) / 60.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let to = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    format!("#{:02x}{:02x}{:02x}", to(r), to(g), to(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_colours() {
        let a = Identity::for_id(1);
        let b = Identity::for_id(2);
        assert_ne!(a.name, b.name);
        assert_ne!(a.color, b.color);
        assert_eq!(hsl_to_hex(0.0, 1.0, 0.5), "#ff0000");
        assert_eq!(hsl_to_hex(240.0, 1.0, 0.5), "#0000ff");
        let names: std::collections::HashSet<_> = (1..=50).map(|i| Identity::for_id(i).name).collect();
        assert!(
            names.len() >= 40,
            "only {} distinct names for 50 clients",
            names.len()
        );
    }

    #[test]
    fn hints_are_validated() {
        assert_eq!(
            Identity::from_hint(Some("Swift Otter"), Some("#A1B2C3")),
            Some(Identity {
                name: "Swift Otter".into(),
                color: "#a1b2c3".into()
            })
        );
        assert_eq!(Identity::from_hint(Some("<script>"), Some("#a1b2c3")), None);
        assert_eq!(Identity::from_hint(Some("x"), Some("red")), None);
        assert_eq!(Identity::from_hint(Some(""), Some("#a1b2c3")), None);
        assert_eq!(Identity::from_hint(None, Some("#a1b2c3")), None);
        assert_eq!(Identity::from_hint(Some(&"n".repeat(33)), Some("#a1b2c3")), None);
        assert_eq!(Identity::from_hint(Some("x"), Some("#é12345")), None);
    }
}
