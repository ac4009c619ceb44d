//! Printable barcodes for loyalty cards, as SVG: EAN-13 for the cards the
//! store issues, Code128 (set B) for legacy alphanumeric codes. The human
//! readable number is printed under the bars so a cashier can type it when
//! a scanner fails.

use barcoders::generators::svg::SVG;
use barcoders::sym::code128::Code128;
use barcoders::sym::ean13::EAN13;

use crate::card::{CardKind, CardNumber};
use crate::{Error, Result};

const BAR_HEIGHT: u32 = 80;

pub fn card_svg(card: &CardNumber) -> Result<String> {
    let fail = |e: barcoders::error::Error| Error::invalid("barcode", e.to_string());
    let encoded = match card.kind() {
        // barcoders computes the check digit itself from the first 12.
        CardKind::Ean13 => EAN13::new(&card.as_str()[..12]).map_err(fail)?.encode(),
        // 'Ɓ' selects Code128 character set B (printable ASCII).
        CardKind::Legacy => Code128::new(format!("Ɓ{}", card.as_str()))
            .map_err(fail)?
            .encode(),
    };
    let width = encoded.len();
    let bars = SVG::new(BAR_HEIGHT).generate(&encoded).map_err(fail)?;
    // Nest the generated SVG with an explicit box: without one, a nested
    // <svg viewBox> is scaled to the whole outer box and the bars slide
    // under the printed digits.
    let bars = bars.replacen(
        "<svg",
        &format!(r#"<svg x="0" y="0" width="{width}" height="{BAR_HEIGHT}""#),
        1,
    );
    Ok(format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{pw}" height="{ph}" role="img" aria-label="Card {code}"><rect width="100%" height="100%" fill="white"/>{bars}<text x="{cx}" y="{ty}" font-family="monospace" font-size="12" text-anchor="middle">{code}</text></svg>"#,
        w = width,
        h = BAR_HEIGHT + 16,
        pw = width * 3,
        ph = (BAR_HEIGHT + 16) * 3,
        cx = width / 2,
        ty = BAR_HEIGHT + 13,
        code = card.as_str(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ean13_card_renders_with_its_number() {
        let c = CardNumber::issue(17).unwrap();
        let svg = card_svg(&c).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(c.as_str()));
        assert!(svg.matches("<rect").count() > 20, "bars missing");
    }

    #[test]
    fn legacy_card_renders() {
        let c = CardNumber::parse("ab-1234").unwrap();
        let svg = card_svg(&c).unwrap();
        assert!(svg.contains("AB-1234"));
    }
}
