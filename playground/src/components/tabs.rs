//! The row of tabs.

use yew::prelude::*;

/// The views of the playground.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// Create or load the OAuth certificate.
    Certificate,
    /// The objects of the setup steps.
    Setup,
    /// Mint, decode, verify and share tokens.
    Tokens,
    /// The publish batch and the device payloads.
    Payloads,
    /// The whole flow, step by step.
    Flow,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Self; 5] = [
        Self::Certificate,
        Self::Setup,
        Self::Tokens,
        Self::Payloads,
        Self::Flow,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Certificate => "1 · Certificate",
            Self::Setup => "2 · Setup objects",
            Self::Tokens => "3 · Tokens",
            Self::Payloads => "4 · Payloads",
            Self::Flow => "5 · Flow",
        }
    }

    /// A stable name for element ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::Certificate => "cert",
            Self::Setup => "setup",
            Self::Tokens => "tokens",
            Self::Payloads => "payloads",
            Self::Flow => "flow",
        }
    }
}

/// What [`Tabs`] needs.
#[derive(Properties, PartialEq, Debug)]
pub struct TabsProps {
    /// The tab shown.
    pub current: Tab,
    /// Called with the tab clicked.
    pub on_select: Callback<Tab>,
    /// Whether a certificate is in use (shown as a hint on the first tab).
    pub has_certificate: bool,
}

/// The row of tabs.
#[function_component(Tabs)]
pub fn tabs(props: &TabsProps) -> Html {
    html! {
        <nav class="tabs" role="tablist">
            {
                for Tab::ALL.into_iter().map(|tab| {
                    let on_select = props.on_select.clone();
                    let onclick = Callback::from(move |_: MouseEvent| on_select.emit(tab));
                    let selected = tab == props.current;
                    let class = classes!("tab", selected.then_some("selected"));
                    html! {
                        <button id={format!("tab-{}", tab.name())} {class} role="tab"
                            aria-selected={selected.to_string()} {onclick}>
                            { tab.title() }
                            if tab == Tab::Certificate && props.has_certificate {
                                <span class="dot" title="a certificate is in use"></span>
                            }
                        </button>
                    }
                })
            }
        </nav>
    }
}
