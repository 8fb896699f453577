//! Reading the GPS position an XMP packet holds, as XML namespaces mean it: a field is
//! `GPSLatitude` in the namespace `http://ns.adobe.com/exif/1.0/` whatever prefix binds it
//! (`exif:`, `ex:`, a default namespace), as an attribute or an element, with character and
//! entity references resolved; a value in either of XMP's forms ("DDD,MM.mmk" or "DDD,MM,SSk").

use quick_xml::NsReader;
use quick_xml::events::{BytesRef, Event};
use quick_xml::name::{QName, ResolveResult};

pub(super) const EXIF_NS: &str = "http://ns.adobe.com/exif/1.0/";
pub(super) const GEOLENS_NS: &str = "https://github.com/geolens/geolens/ns/1.0/";
const RDF_NS: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// The fields geolens reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Lat,
    Lon,
    Source,
}

/// The namespace a resolved prefix names. A prefix used but never declared (written by tools
/// that skip declarations) counts as the namespace its usual prefix names.
fn namespace_of<'a>(resolved: &'a ResolveResult<'a>) -> Option<&'a [u8]> {
    match resolved {
        ResolveResult::Bound(ns) => Some(ns.into_inner()),
        ResolveResult::Unknown(prefix) => match prefix.as_slice() {
            b"exif" => Some(EXIF_NS.as_bytes()),
            b"geolens" => Some(GEOLENS_NS.as_bytes()),
            b"rdf" => Some(RDF_NS.as_bytes()),
            _ => None,
        },
        ResolveResult::Unbound => None,
    }
}

fn field_named(namespace: &[u8], local: &[u8]) -> Option<Field> {
    match (namespace, local) {
        (ns, b"GPSLatitude") if ns == EXIF_NS.as_bytes() => Some(Field::Lat),
        (ns, b"GPSLongitude") if ns == EXIF_NS.as_bytes() => Some(Field::Lon),
        (ns, b"LocationSource") if ns == GEOLENS_NS.as_bytes() => Some(Field::Source),
        _ => None,
    }
}

/// The field an element of the packet is, if it is one.
pub(super) fn element_field<R>(reader: &NsReader<R>, name: QName) -> Option<Field> {
    let (resolved, local) = reader.resolver().resolve_element(name);
    field_named(namespace_of(&resolved)?, local.as_ref())
}

/// The field an attribute of the current element is, if it is one (`xmlns` declarations
/// never are).
pub(super) fn attribute_field<R>(reader: &NsReader<R>, key: QName) -> Option<Field> {
    if key.as_namespace_binding().is_some() {
        return None;
    }
    let (resolved, local) = reader.resolver().resolve_attribute(key);
    field_named(namespace_of(&resolved)?, local.as_ref())
}

/// Whether the element is an `rdf:Description` (under any prefix).
pub(super) fn is_description<R>(reader: &NsReader<R>, name: QName) -> bool {
    let (resolved, local) = reader.resolver().resolve_element(name);
    namespace_of(&resolved) == Some(RDF_NS.as_bytes()) && local.as_ref() == b"Description"
}

/// The prefix under which the element just read can name `namespace`, and whether it must be
/// declared there: `wanted` where it is bound to that namespace in scope (no declaration) or
/// not bound at all (declared), else `wanted` with a digit: a prefix bound to another
/// namespace is never redeclared, since that would change what the element's other
/// attributes mean.
pub(super) fn prefix_for<R>(reader: &NsReader<R>, namespace: &str, wanted: &str) -> (String, bool) {
    let mut prefix = wanted.to_string();
    for n in 1.. {
        let probe = format!("{prefix}:x");
        match reader
            .resolver()
            .resolve_attribute(QName(probe.as_bytes()))
            .0
        {
            ResolveResult::Bound(ns) if ns.into_inner() == namespace.as_bytes() => {
                return (prefix, false);
            }
            ResolveResult::Unknown(_) | ResolveResult::Unbound => return (prefix, true),
            ResolveResult::Bound(_) => prefix = format!("{wanted}{n}"),
        }
    }
    (prefix, true)
}

/// The text of a reference inside an element's content (`&#x33;`, `&amp;`).
fn reference_text(r: &BytesRef) -> Option<String> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Some(c.to_string());
    }
    let name = r.decode().ok()?;
    quick_xml::escape::resolve_predefined_entity(&name).map(str::to_string)
}

/// The GPS position an XMP packet holds (as attributes or elements), as written.
pub(super) fn existing_position(xml: &[u8]) -> Result<Option<(String, String)>, String> {
    let mut reader = NsReader::from_reader(xml);
    let mut buf = Vec::new();
    let (mut lat, mut lon) = (None, None);
    // The field whose element is open, and its text so far.
    let mut open: Option<(Field, String)> = None;
    let mut set = |field: Field, value: String| match field {
        Field::Lat => lat = Some(value),
        Field::Lon => lon = Some(value),
        Field::Source => {}
    };
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| e.to_string())?;
        match &event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                for attr in e.attributes() {
                    let attr = attr.map_err(|e| e.to_string())?;
                    if let Some(field) = attribute_field(&reader, attr.key) {
                        let value = attr
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map_err(|e| e.to_string())?;
                        set(field, value.trim().to_string());
                    }
                }
                open = match &event {
                    Event::Start(_) => element_field(&reader, e.name()).map(|f| (f, String::new())),
                    _ => None,
                };
            }
            Event::Text(t) => {
                if let Some((_, text)) = open.as_mut() {
                    text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::CData(t) => {
                if let Some((_, text)) = open.as_mut() {
                    text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, text)) = open.as_mut() {
                    text.push_str(&reference_text(r).ok_or("an unknown entity reference")?);
                }
            }
            Event::End(_) => {
                if let Some((field, text)) = open.take()
                    && !text.trim().is_empty()
                {
                    set(field, text.trim().to_string());
                }
            }
            _ => {}
        }
        buf.clear();
    }
    Ok(lat.zip(lon))
}

/// XMP's "DDD,MM.mmk" or "DDD,MM,SSk" (or plain decimal degrees) as signed degrees.
pub fn parse_xmp_coordinate(text: &str) -> Option<f64> {
    let text = text.trim();
    let Some((deg, rest)) = text.split_once(',') else {
        return text.parse().ok().filter(|v: &f64| v.is_finite());
    };
    let hemisphere = rest.chars().last()?;
    let rest = &rest[..rest.len() - hemisphere.len_utf8()];
    let (minutes, seconds) = match rest.split_once(',') {
        Some((minutes, seconds)) => (
            minutes.trim().parse::<u32>().ok()? as f64,
            seconds.trim().parse::<f64>().ok()?,
        ),
        None => (rest.trim().parse::<f64>().ok()?, 0.0),
    };
    let degrees = deg.trim().parse::<u32>().ok()? as f64;
    if !(0.0..60.0).contains(&minutes) || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    let value = degrees + minutes / 60.0 + seconds / 3600.0;
    match hemisphere.to_ascii_uppercase() {
        'N' | 'E' => Some(value),
        'S' | 'W' => Some(-value),
        _ => None,
    }
    .filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(xml: &str) -> Option<(f64, f64)> {
        let (lat, lon) = existing_position(xml.as_bytes()).expect("parses")?;
        Some((parse_xmp_coordinate(&lat)?, parse_xmp_coordinate(&lon)?))
    }

    const RDF: &str = "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"";

    #[test]
    fn gps_is_found_under_any_prefix_of_the_exif_namespace() {
        let other_prefix = format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF {RDF}><rdf:Description \
             xmlns:ex=\"{EXIF_NS}\" ex:GPSLatitude=\"35,0.684N\" ex:GPSLongitude=\"135,46.086E\"/>\
             </rdf:RDF></x:xmpmeta>"
        );
        let (lat, lon) = position(&other_prefix).expect("found");
        assert!((lat - 35.0114).abs() < 1e-9 && (lon - 135.7681).abs() < 1e-9);
        let default_ns = format!(
            "<rdf:RDF {RDF}><rdf:Description><GPSLatitude xmlns=\"{EXIF_NS}\">10,30N</GPSLatitude>\
             <GPSLongitude xmlns=\"{EXIF_NS}\">20,15W</GPSLongitude></rdf:Description></rdf:RDF>"
        );
        assert_eq!(position(&default_ns), Some((10.5, -20.25)));
        // `exif:` bound to some other namespace is not GPS.
        let not_exif = format!(
            "<rdf:RDF {RDF}><rdf:Description xmlns:exif=\"urn:other\" \
             exif:GPSLatitude=\"1,0N\" exif:GPSLongitude=\"2,0E\"/></rdf:RDF>"
        );
        assert_eq!(position(&not_exif), None);
        // Undeclared `exif:` (tools that skip declarations) is read as before.
        assert_eq!(
            position("<d exif:GPSLatitude=\"1,30N\" exif:GPSLongitude=\"2,0E\"/>"),
            Some((1.5, 2.0))
        );
    }

    #[test]
    fn character_references_and_the_seconds_form_are_read() {
        let refs = format!(
            "<rdf:RDF {RDF}><rdf:Description xmlns:exif=\"{EXIF_NS}\" \
             exif:GPSLatitude=\"&#x33;5,0,41.04N\"><exif:GPSLongitude>1&#51;5,46,5.16&#69;\
             </exif:GPSLongitude></rdf:Description></rdf:RDF>"
        );
        let (lat, lon) = position(&refs).expect("found");
        assert!((lat - 35.0114).abs() < 1e-9, "{lat}");
        assert!((lon - 135.7681).abs() < 1e-9, "{lon}");
        assert_eq!(parse_xmp_coordinate("22,54,0S"), Some(-22.9));
        assert_eq!(
            parse_xmp_coordinate("22,54.5s"),
            Some(-(22.0 + 54.5 / 60.0))
        );
        for bad in [
            "22,61.0N",
            "22,54,60N",
            "22,5.5,1N",
            "-22,54S",
            "35,1X",
            "N",
        ] {
            assert_eq!(parse_xmp_coordinate(bad), None, "{bad}");
        }
    }
}
