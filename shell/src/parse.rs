//! The language of `sh`: a lexer and a recursive-descent parser that turn
//! source text into a command tree ([`List`]), or into a [`ParseError`] that
//! says where and why. Nothing here runs anything: the tree is plain data
//! (`Clone`, `'static`), so the interpreter can hand it to a subshell task.
//!
//! What a subshell gets is shared, not copied: `( … )` holds its list in an
//! `Rc`, and the texts kept for job messages are ranges of one shared copy
//! of the source ([`Text`]). Else 64 nested `( … )` around a long line cost
//! 64 copies of the line in the tree, and more again as each level's task
//! copied its part.
//!
//! The grammar, sh's cut down (`newline*` may appear after `|`, `&&`, `||`
//! and `(`):
//!
//! ```text
//! list     := newline* ( and_or ( ';' | '&' | newline ) newline* )* and_or?
//! and_or   := pipeline ( ( '&&' | '||' ) pipeline )*     left-associative
//! pipeline := stage ( '|' stage )*
//! stage    := word+ | '(' list ')'                       the list not empty
//! ```
//!
//! Words: `'…'` is literal; in `"…"` a backslash escapes only `"`, `\` and
//! `$`; elsewhere a backslash escapes any character, and backslash-newline
//! disappears. `$?` and `$$` are expanded later, so a [`Word`] keeps them as
//! [`Part`]s (not in single quotes). `#` at the start of a word begins a
//! comment. `<` and `>` are refused: coos has no files to redirect to.
//! Subshells nest at most [`MAX_NESTING`] deep.

use std::fmt;
use std::ops::{Deref, Range};
use std::rc::Rc;

/// A sequence of and-or lists, each ended by `;`/newline or by `&`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct List {
    /// The and-or lists in source order, each with what ended it.
    pub items: Vec<(AndOr, Terminator)>,
}

/// How an item of a [`List`] ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminator {
    /// `;`, a newline or the end: run it and wait.
    Seq,
    /// `&`: start it as a background job and go on.
    Background,
}

/// Pipelines joined by `&&` and `||`, evaluated left to right with equal
/// precedence: `a || b && c` is `(a || b) && c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AndOr {
    /// The pipeline that always runs.
    pub first: Pipeline,
    /// The pipelines that run depending on the status so far.
    pub rest: Vec<(AndOrOp, Pipeline)>,
    /// The source text, trimmed, for job messages.
    pub text: Text,
}

/// The operator before a pipeline of an [`AndOr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AndOrOp {
    /// `&&`: run if the status so far is 0.
    And,
    /// `||`: run if the status so far is not 0.
    Or,
}

/// Stages joined by `|`: one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// At least one stage.
    pub stages: Vec<Stage>,
    /// The source text, trimmed, for job messages (`seq 3 | wc -l`).
    pub text: Text,
}

/// One stage of a pipeline: one child task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// A command and its arguments (at least one word).
    Simple(Vec<Word>),
    /// `( list )`, run by a child shell, which shares it.
    Subshell(Rc<List>),
}

/// A piece of the source, for messages: a range of the one copy of the
/// source the tree shares, so a clone costs a count, not the bytes.
#[derive(Clone)]
pub struct Text {
    src: Rc<str>,
    range: Range<usize>,
}

impl Text {
    /// `range` of `src`; an empty text if the range is not in it.
    fn of(src: &Rc<str>, range: Range<usize>) -> Text {
        let range = if src.get(range.clone()).is_some() {
            range
        } else {
            0..0
        };
        Text {
            src: src.clone(),
            range,
        }
    }

    /// The whole source this text is a piece of.
    pub fn source(&self) -> &Rc<str> {
        &self.src
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.src[self.range.clone()]
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text::of(&Rc::from(text), 0..text.len())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        **self == **other
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &**self == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &**self == *other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// One word of a command, as quoting left it: literal text and the
/// expansions still to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// At least one part; `''` is `[Lit("")]`.
    pub parts: Vec<Part>,
}

/// A piece of a [`Word`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text, quotes and escapes already removed.
    Lit(String),
    /// `$?`: the status of the last command.
    Status,
    /// `$$`: the shell's pid.
    ShellPid,
}

impl Word {
    /// A word of literal text.
    pub fn lit(text: impl Into<String>) -> Word {
        Word {
            parts: vec![Part::Lit(text.into())],
        }
    }

    /// The word's text when it has no expansions, as `echo` or `'a b'` do.
    pub fn as_literal(&self) -> Option<String> {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Lit(text) => Some(text.as_str()),
                Part::Status | Part::ShellPid => None,
            })
            .collect()
    }
}

/// Why some text is not a command line, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The line of the offending token or of the end of input, from 1.
    pub line: usize,
    /// Its column, from 1, counted in characters.
    pub column: usize,
    /// What is wrong, for a person: `unexpected '&&'`.
    pub message: String,
    /// The input ended too soon (an open quote or `(`, a trailing `|`):
    /// more lines could complete it.
    pub incomplete: bool,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 1 {
            write!(
                f,
                "sh: syntax error at column {}: {}",
                self.column, self.message
            )
        } else {
            write!(
                f,
                "sh: syntax error at line {}, column {}: {}",
                self.line, self.column, self.message
            )
        }
    }
}

impl ParseError {
    /// The message naming its line even when that is the first, as a
    /// script's reader wants it (`sh: syntax error at line 1, column 6: …`).
    pub fn with_line(&self) -> String {
        format!(
            "sh: syntax error at line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// How deep `( … )` may nest. The parser recurses once per level, and so do
/// the tree's `Clone` and `Drop`, on the stack of whatever task runs the
/// shell: a bound keeps a line of 100 000 `(` a syntax error instead of a
/// stack overflow that would abort the whole of coos. Far beyond what a
/// person writes, and small enough for a 2 MiB test thread in a debug build.
pub const MAX_NESTING: usize = 64;

/// Parses a whole script (one line or many) into a [`List`].
///
/// # Errors
/// A [`ParseError`] at the first token (or end of input) that does not fit.
pub fn parse(src: &str) -> Result<List, ParseError> {
    parse_shared(Rc::from(src))
}

/// [`parse`], with the tree's texts ranges of the caller's `src`.
///
/// # Errors
/// As [`parse`].
pub fn parse_shared(src: Rc<str>) -> Result<List, ParseError> {
    let mut parser = Parser::new(&src);
    let list = parser.list()?;
    let tok = parser.peek()?.clone();
    match tok.kind {
        Kind::Eof => Ok(list),
        // `list` stops only at the end or at a `)` that closes nothing.
        _ => Err(parser.unexpected(&tok)),
    }
}

/// A place in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: usize,
    column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Word(Word),
    /// `|`
    Pipe,
    /// `||`
    OrIf,
    /// `&`
    Amp,
    /// `&&`
    AndIf,
    /// `;`
    Semi,
    /// `;;`, which sh reserves for `case`.
    DSemi,
    Newline,
    LParen,
    RParen,
    /// `<` or `>`.
    Redirect(char),
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    pos: Pos,
    /// Byte range in the source.
    start: usize,
    end: usize,
}

struct Lexer<'a> {
    src: &'a str,
    /// Byte offset of the next character.
    offset: usize,
    pos: Pos,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Lexer<'a> {
        Lexer {
            src,
            offset: 0,
            pos: Pos { line: 1, column: 1 },
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.offset..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.src[self.offset..].chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    /// An error at the end of input, which more input could cure.
    fn at_end(&self, message: &str) -> ParseError {
        ParseError {
            line: self.pos.line,
            column: self.pos.column,
            message: message.to_string(),
            incomplete: true,
        }
    }

    /// Skips blanks, backslash-newlines and a comment, stopping before a
    /// newline (which is a token).
    fn skip_blanks(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t') => {
                    self.bump();
                }
                Some('\\') if self.peek_second() == Some('\n') => {
                    self.bump();
                    self.bump();
                }
                Some('#') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                _ => return,
            }
        }
    }

    fn next_token(&mut self) -> Result<Token, ParseError> {
        self.skip_blanks();
        let start = self.offset;
        let pos = self.pos;
        let Some(c) = self.peek() else {
            return Ok(Token {
                kind: Kind::Eof,
                pos,
                start,
                end: start,
            });
        };
        let kind = match c {
            '\n' | '|' | '&' | ';' | '(' | ')' | '<' | '>' => {
                self.bump();
                let doubled = self.peek() == Some(c);
                match c {
                    '\n' => Kind::Newline,
                    '|' if doubled => self.then(Kind::OrIf),
                    '|' => Kind::Pipe,
                    '&' if doubled => self.then(Kind::AndIf),
                    '&' => Kind::Amp,
                    ';' if doubled => self.then(Kind::DSemi),
                    ';' => Kind::Semi,
                    '(' => Kind::LParen,
                    ')' => Kind::RParen,
                    _ => Kind::Redirect(c),
                }
            }
            _ => Kind::Word(self.word()?),
        };
        Ok(Token {
            kind,
            pos,
            start,
            end: self.offset,
        })
    }

    /// Consumes the second character of a two-character operator.
    fn then(&mut self, kind: Kind) -> Kind {
        self.bump();
        kind
    }

    /// Reads one word; the caller saw that it starts here.
    fn word(&mut self) -> Result<Word, ParseError> {
        let mut word = WordBuilder::default();
        loop {
            match self.peek() {
                None => break,
                Some(c) if ends_word(c) => break,
                Some('\'') => {
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err(self.at_end("unterminated single quote")),
                            Some('\'') => break,
                            Some(c) => word.text.push(c),
                        }
                    }
                }
                Some('"') => {
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err(self.at_end("unterminated double quote")),
                            Some('"') => break,
                            Some('\\') => match self.peek() {
                                Some(c @ ('"' | '\\' | '$')) => {
                                    self.bump();
                                    word.text.push(c);
                                }
                                Some('\n') => {
                                    self.bump();
                                }
                                _ => word.text.push('\\'),
                            },
                            Some('$') => self.dollar(&mut word),
                            Some(c) => word.text.push(c),
                        }
                    }
                }
                Some('\\') => {
                    self.bump();
                    match self.bump() {
                        None => return Err(self.at_end("unexpected end of input after '\\'")),
                        Some('\n') => {}
                        Some(c) => word.text.push(c),
                    }
                }
                Some('$') => {
                    self.bump();
                    self.dollar(&mut word);
                }
                Some(c) => {
                    self.bump();
                    word.text.push(c);
                }
            }
        }
        Ok(word.finish())
    }

    /// After a `$`: `$?` and `$$` are expansions, any other `$` is itself.
    fn dollar(&mut self, word: &mut WordBuilder) {
        let part = match self.peek() {
            Some('?') => Part::Status,
            Some('$') => Part::ShellPid,
            _ => {
                word.text.push('$');
                return;
            }
        };
        self.bump();
        word.flush();
        word.parts.push(part);
    }
}

/// Does `c`, unquoted, end a word?
fn ends_word(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | '|' | '&' | ';' | '(' | ')' | '<' | '>'
    )
}

#[derive(Default)]
struct WordBuilder {
    parts: Vec<Part>,
    text: String,
}

impl WordBuilder {
    fn flush(&mut self) {
        if !self.text.is_empty() {
            self.parts.push(Part::Lit(std::mem::take(&mut self.text)));
        }
    }

    fn finish(mut self) -> Word {
        self.flush();
        if self.parts.is_empty() {
            // `''` or `""`: an empty argument, which is still an argument.
            self.parts.push(Part::Lit(String::new()));
        }
        Word { parts: self.parts }
    }
}

struct Parser<'a> {
    src: &'a Rc<str>,
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    /// Where the last consumed token ended: the end of a pipeline's text.
    last_end: usize,
    /// How many `(` enclose the current token.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a Rc<str>) -> Parser<'a> {
        Parser {
            src,
            lexer: Lexer::new(src),
            peeked: None,
            last_end: 0,
            depth: 0,
        }
    }

    fn peek(&mut self) -> Result<&Token, ParseError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        Ok(self.peeked.as_ref().expect("peeked was just filled"))
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        self.peek()?;
        let tok = self.peeked.take().expect("peek filled it");
        self.last_end = tok.end;
        Ok(tok)
    }

    fn skip_newlines(&mut self) -> Result<(), ParseError> {
        while self.peek()?.kind == Kind::Newline {
            self.next()?;
        }
        Ok(())
    }

    /// Stops before the end of input or a `)`; the caller decides whether
    /// that is where it should stop.
    fn list(&mut self) -> Result<List, ParseError> {
        let mut items = Vec::new();
        self.skip_newlines()?;
        while !matches!(self.peek()?.kind, Kind::Eof | Kind::RParen) {
            let and_or = self.and_or()?;
            let tok = self.peek()?.clone();
            let terminator = match tok.kind {
                Kind::Semi | Kind::Newline => Terminator::Seq,
                Kind::Amp => Terminator::Background,
                Kind::Eof | Kind::RParen => {
                    items.push((and_or, Terminator::Seq));
                    break;
                }
                _ => return Err(self.unexpected(&tok)),
            };
            self.next()?;
            items.push((and_or, terminator));
            self.skip_newlines()?;
        }
        Ok(List { items })
    }

    fn and_or(&mut self) -> Result<AndOr, ParseError> {
        let start = self.peek()?.start;
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek()?.kind {
                Kind::AndIf => AndOrOp::And,
                Kind::OrIf => AndOrOp::Or,
                _ => break,
            };
            self.next()?;
            self.skip_newlines()?;
            rest.push((op, self.pipeline()?));
        }
        Ok(AndOr {
            first,
            rest,
            text: self.text_from(start),
        })
    }

    fn pipeline(&mut self) -> Result<Pipeline, ParseError> {
        let start = self.peek()?.start;
        let mut stages = vec![self.stage()?];
        while self.peek()?.kind == Kind::Pipe {
            self.next()?;
            self.skip_newlines()?;
            stages.push(self.stage()?);
        }
        Ok(Pipeline {
            stages,
            text: self.text_from(start),
        })
    }

    fn stage(&mut self) -> Result<Stage, ParseError> {
        let tok = self.peek()?.clone();
        match tok.kind {
            Kind::Word(_) => {
                let mut words = Vec::new();
                while let Kind::Word(word) = &self.peek()?.kind {
                    words.push(word.clone());
                    self.next()?;
                }
                Ok(Stage::Simple(words))
            }
            Kind::LParen => {
                if self.depth == MAX_NESTING {
                    return Err(ParseError {
                        message: format!("more than {MAX_NESTING} nested '('"),
                        ..self.unexpected(&tok)
                    });
                }
                self.next()?;
                self.depth += 1;
                let list = self.list();
                self.depth -= 1;
                let list = list?;
                let close = self.peek()?.clone();
                match close.kind {
                    Kind::RParen if !list.items.is_empty() => {
                        self.next()?;
                        Ok(Stage::Subshell(Rc::new(list)))
                    }
                    Kind::Eof => Err(ParseError {
                        message: "unexpected end of input, expected ')'".to_string(),
                        ..self.unexpected(&close)
                    }),
                    // `()`, or (never) whatever else stopped the list.
                    _ => Err(self.unexpected(&close)),
                }
            }
            _ => Err(self.unexpected(&tok)),
        }
    }

    /// The source from byte `start` to the end of the last token, trimmed.
    fn text_from(&self, start: usize) -> Text {
        let raw = self.src.get(start..self.last_end).unwrap_or_default();
        let trimmed = raw.trim_start();
        let from = start + (raw.len() - trimmed.len());
        Text::of(self.src, from..from + trimmed.trim_end().len())
    }

    fn unexpected(&self, tok: &Token) -> ParseError {
        let source = self.src.get(tok.start..tok.end).unwrap_or_default();
        let message = match tok.kind {
            Kind::Eof => "unexpected end of input".to_string(),
            Kind::Newline => "unexpected newline".to_string(),
            Kind::Redirect(c) => {
                format!("unexpected '{c}' (redirections are not supported)")
            }
            _ => format!("unexpected '{source}'"),
        };
        ParseError {
            line: tok.pos.line,
            column: tok.pos.column,
            message,
            incomplete: tok.kind == Kind::Eof,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact rendering of a tree: words in `<>`, `$?` and `$$` as
    /// `{?}` and `{$}`, subshells in `( )`, each item ended by `;` or `&`.
    fn render(list: &List) -> String {
        let items: Vec<String> = list
            .items
            .iter()
            .map(|(and_or, term)| {
                let mut s = render_pipeline(&and_or.first);
                for (op, p) in &and_or.rest {
                    s.push_str(match op {
                        AndOrOp::And => " && ",
                        AndOrOp::Or => " || ",
                    });
                    s.push_str(&render_pipeline(p));
                }
                s.push(match term {
                    Terminator::Seq => ';',
                    Terminator::Background => '&',
                });
                s
            })
            .collect();
        items.join(" ")
    }

    fn render_pipeline(p: &Pipeline) -> String {
        let stages: Vec<String> = p
            .stages
            .iter()
            .map(|stage| match stage {
                Stage::Simple(words) => {
                    let words: Vec<String> = words.iter().map(render_word).collect();
                    words.join(" ")
                }
                Stage::Subshell(list) => format!("( {} )", render(list)),
            })
            .collect();
        stages.join(" | ")
    }

    fn render_word(w: &Word) -> String {
        let inner: String = w
            .parts
            .iter()
            .map(|part| match part {
                Part::Lit(text) => text.clone(),
                Part::Status => "{?}".to_string(),
                Part::ShellPid => "{$}".to_string(),
            })
            .collect();
        format!("<{inner}>")
    }

    fn tree(src: &str) -> String {
        match parse(src) {
            Ok(list) => render(&list),
            Err(e) => panic!("{src:?} should parse, got: {e}"),
        }
    }

    /// `(column, message)` of the error `src` gives.
    fn error(src: &str) -> (usize, String) {
        match parse(src) {
            Ok(list) => panic!("{src:?} should not parse, got: {}", render(&list)),
            Err(e) => (e.column, e.message),
        }
    }

    fn err(column: usize, message: &str) -> (usize, String) {
        (column, message.to_string())
    }

    #[test]
    fn a_simple_command_is_its_words() {
        assert_eq!(tree("echo hello world"), "<echo> <hello> <world>;");
        assert_eq!(tree("  echo   a\t b  "), "<echo> <a> <b>;");
    }

    #[test]
    fn empty_and_blank_input_is_an_empty_list() {
        assert_eq!(parse("").unwrap(), List::default());
        assert_eq!(parse("   \n\n  ").unwrap(), List::default());
        assert_eq!(parse("# just a comment").unwrap(), List::default());
    }

    #[test]
    fn the_tree_is_what_the_types_say() {
        let list = parse("seq 3 | wc -l &").unwrap();
        let pipeline = Pipeline {
            stages: vec![
                Stage::Simple(vec![Word::lit("seq"), Word::lit("3")]),
                Stage::Simple(vec![Word::lit("wc"), Word::lit("-l")]),
            ],
            text: Text::from("seq 3 | wc -l"),
        };
        let expected = List {
            items: vec![(
                AndOr {
                    first: pipeline,
                    rest: vec![],
                    text: Text::from("seq 3 | wc -l"),
                },
                Terminator::Background,
            )],
        };
        assert_eq!(list, expected);
    }

    #[test]
    fn single_quotes_keep_everything_literal() {
        assert_eq!(tree("echo 'a  b'"), "<echo> <a  b>;");
        assert_eq!(tree(r#"echo '$? $$ \ " #'"#), r#"<echo> <$? $$ \ " #>;"#);
        assert_eq!(tree("echo 'a|b;c&&d'"), "<echo> <a|b;c&&d>;");
    }

    #[test]
    fn double_quotes_escape_only_quote_backslash_and_dollar() {
        assert_eq!(
            tree(r#"echo "a \"b\" \\ \$ \n""#),
            r#"<echo> <a "b" \ $ \n>;"#
        );
        assert_eq!(tree(r#"echo "it's""#), "<echo> <it's>;");
        assert_eq!(tree(r#"echo "a # b""#), "<echo> <a # b>;");
    }

    #[test]
    fn a_backslash_outside_quotes_escapes_any_character() {
        assert_eq!(tree(r"echo a\ b \| \\ \'"), r"<echo> <a b> <|> <\> <'>;");
        assert_eq!(tree(r"echo \$?"), "<echo> <$?>;");
    }

    #[test]
    fn backslash_newline_disappears() {
        assert_eq!(tree("echo a \\\n b"), "<echo> <a> <b>;");
        assert_eq!(tree("ec\\\nho x"), "<echo> <x>;");
        assert_eq!(tree("echo \"a\\\nb\""), "<echo> <ab>;");
    }

    #[test]
    fn quotes_join_with_neighbouring_text() {
        assert_eq!(tree(r#"echo a'b c'"d e"f"#), "<echo> <ab cd ef>;");
    }

    #[test]
    fn empty_quotes_are_an_empty_argument() {
        let list = parse("echo '' \"\"").unwrap();
        let Stage::Simple(words) = &list.items[0].0.first.stages[0] else {
            panic!("a simple command")
        };
        assert_eq!(words[1], Word::lit(""));
        assert_eq!(words[2], Word::lit(""));
    }

    #[test]
    fn status_and_pid_expand_unquoted_and_in_double_quotes_only() {
        assert_eq!(tree("echo $? $$"), "<echo> <{?}> <{$}>;");
        assert_eq!(tree(r#"echo "s=$?" x$$y"#), "<echo> <s={?}> <x{$}y>;");
        assert_eq!(tree("echo '$?'"), "<echo> <$?>;");
        assert_eq!(tree("echo $ a$ $x"), "<echo> <$> <a$> <$x>;");
        let list = parse("echo a$?b").unwrap();
        let Stage::Simple(words) = &list.items[0].0.first.stages[0] else {
            panic!("a simple command")
        };
        assert_eq!(
            words[1].parts,
            vec![Part::Lit("a".into()), Part::Status, Part::Lit("b".into())]
        );
        assert_eq!(words[1].as_literal(), None);
        assert_eq!(words[0].as_literal(), Some("echo".to_string()));
    }

    #[test]
    fn a_hash_starts_a_comment_only_at_a_word_start() {
        assert_eq!(tree("echo a#b # comment"), "<echo> <a#b>;");
        assert_eq!(tree("echo a;# comment\necho b"), "<echo> <a>; <echo> <b>;");
        assert_eq!(tree("echo '#'"), "<echo> <#>;");
    }

    #[test]
    fn pipelines_have_any_length() {
        assert_eq!(tree("a | b"), "<a> | <b>;");
        assert_eq!(tree("a|b|c|d"), "<a> | <b> | <c> | <d>;");
        assert_eq!(tree("a |\n\n b"), "<a> | <b>;");
    }

    #[test]
    fn separators_end_items() {
        assert_eq!(tree("a; b\nc & d &"), "<a>; <b>; <c>& <d>&");
        assert_eq!(tree("a;"), "<a>;");
        assert_eq!(tree("a&b"), "<a>& <b>;");
        assert_eq!(tree("\n\na\n\n"), "<a>;");
    }

    #[test]
    fn and_or_is_left_associative_with_equal_precedence() {
        let list = parse("a || b && c").unwrap();
        let and_or = &list.items[0].0;
        assert_eq!(render_pipeline(&and_or.first), "<a>");
        let ops: Vec<AndOrOp> = and_or.rest.iter().map(|(op, _)| *op).collect();
        assert_eq!(ops, vec![AndOrOp::Or, AndOrOp::And]);
        assert_eq!(tree("a && b | c || d &"), "<a> && <b> | <c> || <d>&");
        assert_eq!(tree("a &&\n b"), "<a> && <b>;");
    }

    #[test]
    fn subshells_hold_lists_and_can_be_stages() {
        assert_eq!(tree("(a; b)"), "( <a>; <b>; );");
        assert_eq!(tree("(a | b) | c"), "( <a> | <b>; ) | <c>;");
        assert_eq!(tree("a | (b && c) &"), "<a> | ( <b> && <c>; )&");
        assert_eq!(tree("(\n a\n b &\n)"), "( <a>; <b>& );");
        assert_eq!(tree("((a))"), "( ( <a>; ); );");
        assert_eq!(tree("(a)&&(b)"), "( <a>; ) && ( <b>; );");
    }

    #[test]
    fn texts_are_the_trimmed_source() {
        let list = parse("  seq 3 |  wc -l   && echo 'ok' ; (a | b) &").unwrap();
        let (first, _) = &list.items[0];
        assert_eq!(first.first.text, "seq 3 |  wc -l");
        assert_eq!(first.rest[0].1.text, "echo 'ok'");
        assert_eq!(first.text, "seq 3 |  wc -l   && echo 'ok'");
        let (second, term) = &list.items[1];
        assert_eq!(second.text, "(a | b)");
        assert_eq!(*term, Terminator::Background);
        let Stage::Subshell(inner) = &second.first.stages[0] else {
            panic!("a subshell")
        };
        assert_eq!(inner.items[0].0.first.text, "a | b");
    }

    #[test]
    fn every_text_of_the_tree_is_a_piece_of_the_one_shared_source() {
        fn texts<'a>(list: &'a List, out: &mut Vec<&'a Text>) {
            for (and_or, _) in &list.items {
                out.push(&and_or.text);
                let pipelines =
                    std::iter::once(&and_or.first).chain(and_or.rest.iter().map(|(_, p)| p));
                for pipeline in pipelines {
                    out.push(&pipeline.text);
                    for stage in &pipeline.stages {
                        if let Stage::Subshell(inner) = stage {
                            texts(inner, out);
                        }
                    }
                }
            }
        }
        let src: Rc<str> = Rc::from(" ( a | (b && c) ) & d; ((e)) ");
        let list = parse_shared(src.clone()).unwrap();
        let mut all = Vec::new();
        texts(&list, &mut all);
        let shown: Vec<&str> = all.iter().map(|t| &***t).collect();
        assert_eq!(
            shown,
            [
                "( a | (b && c) )",
                "( a | (b && c) )",
                "a | (b && c)",
                "a | (b && c)",
                "b && c",
                "b",
                "c",
                "d",
                "d",
                "((e))",
                "((e))",
                "(e)",
                "(e)",
                "e",
                "e",
            ]
        );
        for text in all {
            assert!(Rc::ptr_eq(text.source(), &src), "{text:?} is a copy");
        }
    }

    #[test]
    fn non_ascii_text_is_kept_and_columns_count_characters() {
        assert_eq!(tree("echo héllo 'wörld'"), "<echo> <héllo> <wörld>;");
        assert_eq!(error("echo é &&"), err(10, "unexpected end of input"));
    }

    #[test]
    fn an_unterminated_single_quote_is_reported_at_the_end() {
        assert_eq!(error("echo 'abc"), err(10, "unterminated single quote"));
    }

    #[test]
    fn an_unterminated_double_quote_is_reported_at_the_end() {
        assert_eq!(error("echo \"abc"), err(10, "unterminated double quote"));
        assert_eq!(
            error(r#"echo "abc\""#),
            err(12, "unterminated double quote")
        );
    }

    #[test]
    fn a_trailing_backslash_is_incomplete() {
        assert_eq!(
            error("echo \\"),
            err(7, "unexpected end of input after '\\'")
        );
    }

    #[test]
    fn a_pipe_with_nothing_before_it_is_an_error() {
        assert_eq!(error("| wc"), err(1, "unexpected '|'"));
        assert_eq!(error("ls | | wc"), err(6, "unexpected '|'"));
    }

    #[test]
    fn a_pipe_with_nothing_after_it_is_an_error() {
        assert_eq!(error("ls |"), err(5, "unexpected end of input"));
        assert_eq!(error("ls | ;"), err(6, "unexpected ';'"));
    }

    #[test]
    fn a_doubled_and_is_an_error_at_the_second() {
        assert_eq!(error("a && && b"), err(6, "unexpected '&&'"));
        assert_eq!(
            parse("a && && b").unwrap_err().to_string(),
            "sh: syntax error at column 6: unexpected '&&'"
        );
    }

    #[test]
    fn a_lone_and_or_or_is_an_error() {
        assert_eq!(error("&&"), err(1, "unexpected '&&'"));
        assert_eq!(error("|| a"), err(1, "unexpected '||'"));
        assert_eq!(error("a ||"), err(5, "unexpected end of input"));
    }

    #[test]
    fn an_unclosed_paren_expects_one() {
        assert_eq!(
            error("( echo"),
            err(7, "unexpected end of input, expected ')'")
        );
        assert_eq!(
            parse("( echo").unwrap_err().to_string(),
            "sh: syntax error at column 7: unexpected end of input, expected ')'"
        );
        assert_eq!(
            error("(a; (b)"),
            err(8, "unexpected end of input, expected ')'")
        );
    }

    #[test]
    fn a_close_paren_that_closes_nothing_is_an_error() {
        assert_eq!(error("echo )"), err(6, "unexpected ')'"));
        assert_eq!(error(")"), err(1, "unexpected ')'"));
        assert_eq!(error("(a))"), err(4, "unexpected ')'"));
    }

    #[test]
    fn an_empty_subshell_is_an_error() {
        assert_eq!(error("()"), err(2, "unexpected ')'"));
        assert_eq!(error("( \n )"), err(2, "unexpected ')'"));
    }

    #[test]
    fn words_after_a_subshell_or_parens_inside_a_command_are_errors() {
        assert_eq!(error("(a) b"), err(5, "unexpected 'b'"));
        assert_eq!(error("echo a (b)"), err(8, "unexpected '('"));
        assert_eq!(error("(a)(b)"), err(4, "unexpected '('"));
    }

    #[test]
    fn double_semicolons_are_an_error() {
        assert_eq!(error(";;"), err(1, "unexpected ';;'"));
        assert_eq!(error("echo a;;"), err(7, "unexpected ';;'"));
        assert_eq!(error("a; ;"), err(4, "unexpected ';'"));
        assert_eq!(error(";"), err(1, "unexpected ';'"));
    }

    #[test]
    fn a_triple_ampersand_is_an_error() {
        assert_eq!(error("&&&"), err(1, "unexpected '&&'"));
        assert_eq!(error("a &&&"), err(5, "unexpected '&'"));
        assert_eq!(error("a & &"), err(5, "unexpected '&'"));
        assert_eq!(error("a &;"), err(4, "unexpected ';'"));
    }

    #[test]
    fn redirections_are_refused() {
        assert_eq!(
            error("echo a > f"),
            err(8, "unexpected '>' (redirections are not supported)")
        );
        assert_eq!(tree("echo '>'"), "<echo> <>>;");
    }

    #[test]
    fn errors_say_whether_more_input_could_complete_them() {
        for src in [
            "echo 'a", "echo \"a", "( a", "a |", "a &&", "a ||", "echo \\", "(a |\n",
        ] {
            assert!(parse(src).unwrap_err().incomplete, "{src:?}");
        }
        for src in ["| a", "a && && b", "echo )", ";;", "()", "&&&"] {
            assert!(!parse(src).unwrap_err().incomplete, "{src:?}");
        }
    }

    #[test]
    fn errors_on_later_lines_name_the_line() {
        let e = parse("echo a\necho b &&&").unwrap_err();
        assert_eq!((e.line, e.column), (2, 10));
        assert_eq!(
            e.to_string(),
            "sh: syntax error at line 2, column 10: unexpected '&'"
        );
        let e = parse("echo 'a\nb").unwrap_err();
        assert_eq!((e.line, e.column), (2, 2));
    }

    #[test]
    fn with_line_names_the_line_even_when_it_is_the_first() {
        let e = parse("| wc").unwrap_err();
        assert_eq!(
            e.with_line(),
            "sh: syntax error at line 1, column 1: unexpected '|'"
        );
        let e = parse("a\n  )").unwrap_err();
        assert_eq!(
            e.with_line(),
            "sh: syntax error at line 2, column 3: unexpected ')'"
        );
    }

    #[test]
    fn the_first_error_wins_over_a_later_unterminated_quote() {
        assert_eq!(error("echo ) 'abc"), err(6, "unexpected ')'"));
    }

    #[test]
    fn subshells_nest_up_to_the_limit_and_no_deeper() {
        let nested = |depth: usize| "(".repeat(depth) + "a" + &")".repeat(depth);
        assert!(parse(&nested(MAX_NESTING)).is_ok());
        assert_eq!(
            error(&nested(MAX_NESTING + 1)),
            err(MAX_NESTING + 1, "more than 64 nested '('")
        );
        // Hostile: 100 000 levels, which would overflow the stack.
        let e = parse(&nested(100_000)).unwrap_err();
        assert_eq!((e.column, e.incomplete), (MAX_NESTING + 1, false));
        assert!(parse(&"(".repeat(100_000)).is_err());
    }

    #[test]
    fn hostile_input_never_panics() {
        // Every prefix of a busy line, cut at every character boundary.
        let src = "a'b'\"c$?\\\"\" | (d && e || f) & g; h $$ # i\n\\";
        for (i, _) in src.char_indices() {
            let _ = parse(&src[..i]);
        }
        for src in [
            "\\", "'", "\"", "$", "(", ")", "((", "))", "\0", "\r\n", "é'",
        ] {
            let _ = parse(src);
        }
    }
}
