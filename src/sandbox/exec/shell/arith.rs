//! Arithmetic expansion, `$((...))`: signed 64-bit integers with C precedence.

/// Evaluate an arithmetic expression; names and `$NAME` read shell variables
/// (unset or empty is 0). Errors are worded for `sh: arithmetic syntax error`.
pub fn evaluate(expr: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<i64, String> {
    let tokens = tokenize(expr)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        lookup,
    };
    let value = parser.binary(0)?;
    if parser.pos < parser.tokens.len() {
        return Err("arithmetic syntax error".into());
    }
    Ok(value)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(i64),
    Name(String),
    Op(&'static str),
}

const OPERATORS: &[&str] = &[
    "&&", "||", "==", "!=", "<=", ">=", "<<", ">>", "+", "-", "*", "/", "%", "<", ">", "(", ")",
    "!", "~", "&", "|", "^",
];

fn tokenize(expr: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let value = if let Some(hex) = text.strip_prefix("0x").or(text.strip_prefix("0X")) {
                i64::from_str_radix(hex, 16)
            } else if text.len() > 1 && text.starts_with('0') {
                i64::from_str_radix(&text[1..], 8)
            } else {
                text.parse()
            };
            tokens.push(Token::Number(
                value.map_err(|_| "arithmetic syntax error".to_string())?,
            ));
        } else if c == '$' || c == '_' || c.is_ascii_alphabetic() {
            if c == '$' {
                i += 1;
            }
            let braced = chars.get(i) == Some(&'{');
            if braced {
                i += 1;
            }
            let start = i;
            while i < chars.len() && (chars[i] == '_' || chars[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            if braced {
                if chars.get(i) != Some(&'}') {
                    return Err("arithmetic syntax error".into());
                }
                i += 1;
            }
            if start == i - usize::from(braced) {
                return Err("arithmetic syntax error".into());
            }
            let end = if braced { i - 1 } else { i };
            tokens.push(Token::Name(chars[start..end].iter().collect()));
        } else {
            let rest: String = chars[i..].iter().take(2).collect();
            let op = OPERATORS
                .iter()
                .find(|op| rest.starts_with(**op))
                .ok_or_else(|| "arithmetic syntax error".to_string())?;
            i += op.len();
            tokens.push(Token::Op(op));
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

/// Binding power of binary operators (higher binds tighter).
fn precedence(op: &str) -> Option<u8> {
    Some(match op {
        "||" => 1,
        "&&" => 2,
        "|" => 3,
        "^" => 4,
        "&" => 5,
        "==" | "!=" => 6,
        "<" | "<=" | ">" | ">=" => 7,
        "<<" | ">>" => 8,
        "+" | "-" => 9,
        "*" | "/" | "%" => 10,
        _ => return None,
    })
}

impl Parser<'_> {
    fn binary(&mut self, min: u8) -> Result<i64, String> {
        let mut left = self.unary()?;
        while let Some(Token::Op(op)) = self.tokens.get(self.pos).cloned() {
            let Some(power) = precedence(op).filter(|p| *p > min) else {
                break;
            };
            self.pos += 1;
            let right = self.binary(power)?;
            left = apply(op, left, right)?;
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<i64, String> {
        let token = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or_else(|| "arithmetic syntax error".to_string())?;
        self.pos += 1;
        match token {
            Token::Number(value) => Ok(value),
            Token::Name(name) => {
                let value = (self.lookup)(&name).unwrap_or_default();
                let value = value.trim();
                if value.is_empty() {
                    Ok(0)
                } else {
                    value
                        .parse()
                        .map_err(|_| format!("arithmetic syntax error: {value}"))
                }
            }
            Token::Op("-") => Ok(self.unary()?.wrapping_neg()),
            Token::Op("+") => self.unary(),
            Token::Op("!") => Ok(i64::from(self.unary()? == 0)),
            Token::Op("~") => Ok(!self.unary()?),
            Token::Op("(") => {
                let value = self.binary(0)?;
                if self.tokens.get(self.pos) != Some(&Token::Op(")")) {
                    return Err("arithmetic syntax error".into());
                }
                self.pos += 1;
                Ok(value)
            }
            Token::Op(_) => Err("arithmetic syntax error".into()),
        }
    }
}

fn apply(op: &str, left: i64, right: i64) -> Result<i64, String> {
    Ok(match op {
        "+" => left.wrapping_add(right),
        "-" => left.wrapping_sub(right),
        "*" => left.wrapping_mul(right),
        "/" | "%" if right == 0 => return Err("division by zero".into()),
        "/" => left.wrapping_div(right),
        "%" => left.wrapping_rem(right),
        "<<" => left.wrapping_shl(right as u32),
        ">>" => left.wrapping_shr(right as u32),
        "&" => left & right,
        "|" => left | right,
        "^" => left ^ right,
        "==" => i64::from(left == right),
        "!=" => i64::from(left != right),
        "<" => i64::from(left < right),
        "<=" => i64::from(left <= right),
        ">" => i64::from(left > right),
        ">=" => i64::from(left >= right),
        "&&" => i64::from(left != 0 && right != 0),
        "||" => i64::from(left != 0 || right != 0),
        _ => return Err("arithmetic syntax error".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(expr: &str) -> Result<i64, String> {
        evaluate(expr, &|name| match name {
            "i" => Some("4".into()),
            "empty" => Some(String::new()),
            _ => None,
        })
    }

    #[test]
    fn precedence_and_variables() {
        assert_eq!(eval("1 + 2 * 3"), Ok(7));
        assert_eq!(eval("(1 + 2) * 3"), Ok(9));
        assert_eq!(eval("i + 1"), Ok(5));
        assert_eq!(eval("$i * ${i}"), Ok(16));
        assert_eq!(eval("unset + empty"), Ok(0));
        assert_eq!(eval("-i + 10 % 3"), Ok(-3));
        assert_eq!(eval("i > 3 && i < 5"), Ok(1));
        assert_eq!(eval("!0 + 0x10 + 010"), Ok(25));
    }

    #[test]
    fn errors() {
        assert_eq!(eval("1 / 0"), Err("division by zero".into()));
        assert!(eval("1 +").is_err());
        assert!(eval("(1").is_err());
    }
}
