//! scratch
#[cfg(test)]
mod tests {
    #[test]
    fn probe() {
        let text = "/// d\nsource a { // h\n  title \"x\"   // t\n  key (a,\n  // mid\n   b) // k\n  columns {\n    /// cd\n    a int not null // c1\n    b int // c2\n  } // cc\n}\nmetric m {\n  measure sum(x) // m1\n   where y = 1 and // m2\n  z = 2 // m3\n}\nmetric s = a / b // s\n";
        let (m, d) = crate::syntax::parse(crate::span::FileId(0), text);
        assert!(d.is_empty(), "{d:?}");
        let v = serde_json::to_string_pretty(&m).unwrap();
        let mut out = String::new();
        for line in v.lines() {
            if let Some(i) = line.find("\"span\": \"").or(line.find("\"keyword\": \"")) {
                let rest = &line[i..];
                let q: Vec<&str> = rest.split('"').collect();
                let r: Vec<usize> = q[3].split("..").map(|x| x.parse().unwrap()).collect();
                out.push_str(&format!("{} => {:?}\n", line.trim(), &text[r[0]..r[1]]));
            }
        }
        panic!("{out}");
    }
}
