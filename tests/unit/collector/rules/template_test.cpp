#include "mingus/collector/rules/template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

// Expected outputs marked "promtool" were produced by Prometheus 2.42 itself (promtool test rules
// with the same template as an annotation, the same labels, value and query results).
namespace mingus::collector::rules {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

class TemplateTest : public ::testing::Test {
 protected:
  TemplateTest() {
    data_.query = [](std::string_view query) -> StatusOr<std::vector<TemplateSample>> {
      if (query == "node_x") {
        return std::vector<TemplateSample>{
            {{{"__name__", "node_x"}, {"instance", "a"}}, 5},
            {{{"__name__", "node_x"}, {"instance", "b"}}, 3},
        };
      }
      if (query == "up") {
        return std::vector<TemplateSample>{
            {{{"__name__", "up"}, {"instance", "host.example.com:9100"}, {"job", "node"}}, 1}};
      }
      if (query == "nothing") return std::vector<TemplateSample>{};
      return Status::Error("parse error: unexpected character in \"" + std::string(query) + "\"");
    };
  }

  // The expansion, "parse error: ..." or "error: ...".
  std::string Run(std::string_view text, double value = 0) {
    auto parsed = Template::Parse("t", text);
    if (!parsed.ok()) return "parse error: " + parsed.message();
    data_.value = value;
    auto out = parsed->Execute(data_);
    if (!out.ok()) return "error: " + out.message();
    return *out;
  }

  tsdb::Labels labels_ = {{"job", "node"}};
  tsdb::Labels external_labels_ = {{"cluster", "c1"}};
  TemplateData data_{&labels_, &external_labels_, "http://prom.example.com:9090/prefix", 0,
                     nullptr};
};

// ---- Outputs checked against promtool 2.42 ----

// The engine's Alertmanager dialect (notify/notify_template.h) leaves rule templates as
// Prometheus has them: labels are plain maps, and Alertmanager's functions and actions are absent.
TEST_F(TemplateTest, AlertmanagerDialectDoesNotLeakIntoRules) {
  EXPECT_EQ(Run("[{{ .Labels.SortedPairs }}][{{ $labels.Names }}]"), "[][]");
  EXPECT_EQ(Run("{{ join \",\" . }}"),
            "parse error: template: t:1:4: function \"join\" not defined");
  EXPECT_EQ(Run("{{ stringSlice }}"),
            "parse error: template: t:1:4: function \"stringSlice\" not defined");
  EXPECT_THAT(Run("{{ template \"x\" . }}"), HasSubstr("not supported"));
  EXPECT_THAT(Run("{{ .Labels.Remove \"job\" }}"),
              HasSubstr("can't give argument to non-function"));
}

TEST_F(TemplateTest, ValueFormatting) {
  EXPECT_EQ(Run(R"T({{ $value }})T", 0.30000000000000004), R"T(0.30000000000000004)T");
  EXPECT_EQ(Run(R"T({{ $value }})T", 100000), R"T(100000)T");
  EXPECT_EQ(Run(R"T({{ $value }} {{ .Value }})T", 1234567), R"T(1.234567e+06 1.234567e+06)T");
  EXPECT_EQ(Run(R"T({{ $value }})T", 1e21), R"T(1e+21)T");
  EXPECT_EQ(Run(R"T({{ $value }})T", 1e-7), R"T(1e-07)T");
  EXPECT_EQ(Run(R"T({{ $value }})T", 123456.7), R"T(123456.7)T");
  EXPECT_EQ(Run(R"T({{ $value }}|{{ printf "%v" 0.00001 }})T", 0.0001), R"T(0.0001|1e-05)T");
  EXPECT_EQ(Run(R"T({{ $value }})T", -0.5), R"T(-0.5)T");
  EXPECT_EQ(
      Run(R"T({{ $value }} {{ humanize $value }} {{ humanizeDuration $value }} {{ humanizePercentage $value }} {{ humanizeTimestamp $value }})T",
          kNaN),
      R"T(NaN NaN NaN NaN% NaN)T");
  EXPECT_EQ(
      Run(R"T({{ $value }} {{ humanize $value }} {{ humanizeDuration $value }} {{ humanizeTimestamp $value }})T",
          kInf),
      R"T(+Inf +Inf +Inf +Inf)T");
  EXPECT_EQ(Run(R"T({{ $value }} {{ humanize1024 $value }})T", -kInf), R"T(-Inf -Inf)T");
}

TEST_F(TemplateTest, Humanize) {
  EXPECT_EQ(
      Run(R"T({{ humanize 1234567 }} {{ humanize 0.001 }} {{ humanize 1e-7 }} {{ humanize -90061 }} {{ humanize 0 }})T"),
      R"T(1.235M 1m 100n -90.06k 0)T");
  EXPECT_EQ(
      Run(R"T({{ humanize 1e30 }} {{ humanize 1e-30 }} {{ humanize 999.95 }} {{ humanize 1000 }} {{ humanize -0.001 }} {{ humanize 1.5e27 }})T"),
      R"T(1e+06Y 1e-06y 1000 1k -1m 1500Y)T");
  EXPECT_EQ(
      Run(R"T({{ humanize1024 1024 }} {{ humanize1024 1 }} {{ humanize1024 -2048 }} {{ humanize1024 0.5 }} {{ humanize1024 1536 }} {{ humanize1024 1048576 }} {{ humanize1024 1e28 }})T"),
      R"T(1ki 1 -2ki 0.5 1.5ki 1Mi 8272Yi)T");
  EXPECT_EQ(
      Run(R"T({{ humanizePercentage 0.5 }} {{ humanizePercentage 0.12345 }} {{ humanizePercentage 0.33333 }} {{ humanizePercentage 1e21 }} {{ humanizePercentage 0 }} {{ humanizePercentage -0.25 }} {{ humanizePercentage 1e-7 }})T"),
      R"T(50% 12.35% 33.33% 1e+23% 0% -25% 1e-05%)T");
  EXPECT_EQ(
      Run(R"T({{ humanizeDuration 90061.5 }} {{ humanizeDuration 61.9 }} {{ humanizeDuration 3 }} {{ humanizeDuration 2.425 }} {{ humanizeDuration 0.0025 }} {{ humanizeDuration 1e-7 }} {{ humanizeDuration 0 }})T"),
      R"T(1d 1h 1m 1s 1m 1s 3s 2.425s 2.5ms 100ns 0s)T");
  EXPECT_EQ(
      Run(R"T({{ humanizeDuration -90061 }} {{ humanizeDuration 3600 }} {{ humanizeDuration -0.5 }} {{ humanizeDuration 59.99 }} {{ humanizeDuration 86400 }} {{ humanizeDuration 1e12 }})T"),
      R"T(-1d 1h 1m 1s 1h 0m 0s -500ms 59.99s 1d 0h 0m 0s 11574074d 1h 46m 40s)T");
  EXPECT_EQ(
      Run(R"T({{ humanizeTimestamp 1679000000 }} {{ humanizeTimestamp 1679000000.123 }} {{ humanizeTimestamp 0 }} {{ humanizeTimestamp -1.5 }})T"),
      R"T(2023-03-16 20:53:20 +0000 UTC 2023-03-16 20:53:20.122 +0000 UTC 1970-01-01 00:00:00 +0000 UTC 1969-12-31 23:59:58.5 +0000 UTC)T");
  EXPECT_EQ(
      Run(R"T({{ humanize "1234" }} {{ humanize "1e3" }} {{ humanize "1_000" }} {{ humanize "-inf" }} {{ humanize "NaN" }} {{ humanize ".5" }} {{ humanize "0x1p4" }})T"),
      R"T(1.234k 1k 1k -Inf NaN 500m 16)T");
  EXPECT_EQ(
      Run(R"T({{ humanizeDuration "3600" }} {{ humanize1024 "2048" }} {{ humanizePercentage "0.5" }} {{ humanizeTimestamp "0" }} {{ humanizeDuration (parseDuration "1w") }})T"),
      R"T(1h 0m 0s 2ki 50% 1970-01-01 00:00:00 +0000 UTC 7d 0h 0m 0s)T");
}

TEST_F(TemplateTest, HumanizeDurationPastInt64IsGoOnAmd64) {
  // promtool: int64(v) of a value past int64 is MinInt64 on amd64.
  EXPECT_EQ(Run("{{ humanizeDuration 1e19 }} {{ humanizeDuration -1e30 }}"),
            "-106751991167300d -15h -30m -8s --106751991167300d -15h -30m -8s");
}

TEST_F(TemplateTest, LabelsAndData) {
  EXPECT_EQ(
      Run(R"T({{ $labels.job }}|{{ .Labels.job }}|{{ $labels.missing }}|{{ .Labels.missing }}|{{ index $labels "job" }}|{{ index .Labels "nope" }})T"),
      R"T(node|node|||node|)T");
  EXPECT_EQ(
      Run(R"T({{ $labels }} {{ .Labels }} {{ .ExternalLabels }} {{ $externalLabels.cluster }} {{ $externalURL }} {{ .ExternalURL }})T"),
      R"T(map[job:node] map[job:node] map[cluster:c1] c1 http://prom.example.com:9090/prefix http://prom.example.com:9090/prefix)T");
  EXPECT_EQ(Run(R"T({{ . }})T"),
            R"T({map[job:node] map[cluster:c1] http://prom.example.com:9090/prefix 0})T");
  EXPECT_EQ(
      Run(R"T({{ $.Labels.job }} {{ $.Value }} {{ printf "%v|%+v|%s" . . . }})T"),
      R"T(node 0 {map[job:node] map[cluster:c1] http://prom.example.com:9090/prefix 0}|{Labels:map[job:node] ExternalLabels:map[cluster:c1] ExternalURL:http://prom.example.com:9090/prefix Value:0}|{map[job:node] map[cluster:c1] http://prom.example.com:9090/prefix %!s(float64=0)})T");
  EXPECT_EQ(
      Run(R"T({{ range $k, $v := $labels }}{{ $k }}={{ $v }},{{ end }}|{{ range $labels }}{{ . }}{{ end }}|{{ range $e := .Labels }}[{{ $e }}]{{ end }})T"),
      R"T(job=node,|node|[node])T");
}

TEST_F(TemplateTest, Control) {
  EXPECT_EQ(
      Run(R"T({{ if eq $labels.job "node" }}yes{{ else }}no{{ end }} {{ if ne $labels.job "node" }}yes{{ else if eq 1 1 }}elif{{ else }}no{{ end }})T"),
      R"T(yes elif)T");
  EXPECT_EQ(Run(R"T({{ if false }}a{{ else if false }}b{{ else if true }}c{{ else }}d{{ end }})T"),
            R"T(c)T");
  EXPECT_EQ(
      Run(R"T({{ if gt $value 5.0 }}big{{ else }}small{{ end }} {{ if lt 1 2 }}lt{{ end }} {{ if le 2 2 }}le{{ end }} {{ if ge "b" "a" }}ge{{ end }})T",
          7),
      R"T(big lt le ge)T");
  EXPECT_EQ(
      Run(R"T({{ with $labels.job }}job={{ . }}{{ end }}{{ with $labels.none }}x{{ else }}none{{ end }})T"),
      R"T(job=nodenone)T");
  EXPECT_EQ(
      Run(R"T({{ with $x := $labels.job }}{{ $x }}{{ end }} {{ if $y := 0 }}{{ $y }}{{ else }}{{ $y }}{{ end }})T"),
      R"T(node 0)T");
  EXPECT_EQ(
      Run(R"T({{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}{{ if true }}{{ $x = 3 }}{{ $y := 4 }}{{ end }}{{ $x }})T"),
      R"T(123)T");
  EXPECT_EQ(Run(R"T({{ $x := 1 }}{{ $x := "s" }}{{ $x }} {{ $labels = "x" }}{{ $labels }})T"),
            R"T(s x)T");
  EXPECT_EQ(Run(R"T({{ range $x := query "nothing" }}{{ else }}[{{ $x }}]{{ end }})T"),
            R"T([[]])T");
  EXPECT_EQ(Run(R"T({{ range $i, $c := args 1 2 }}{{ $i }}={{ $c }};{{ end }})T"),
            R"T(arg0=1;arg1=2;)T");
  EXPECT_EQ(
      Run(R"T({{ range $i, $e := query "node_x" }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $e.Value }}{{ end }}|{{ range query "node_x" }}{{ if eq .Value 5.0 }}{{ continue }}{{ end }}{{ .Value }}{{ end }})T"),
      R"T(5|3)T");
  EXPECT_EQ(Run(R"T({{ range $labels }}{{ $labels.job }}{{ end }})T"), R"T(node)T");
  EXPECT_EQ(
      Run(R"T({{ if and (eq $labels.job "node") (gt $value -1.0) }}both{{ end }} {{ if or (eq $labels.job "x") (eq $labels.job "node") }}either{{ end }} {{ if not (eq $labels.job "x") }}notx{{ end }})T"),
      R"T(both either notx)T");
}

TEST_F(TemplateTest, TrimAndComments) {
  EXPECT_EQ(Run(R"T(a  {{- 1 -}}  b|a {{- 1}} b|a {{1 -}} b)T"), R"T(a1b|a1 b|a 1b)T");
  EXPECT_EQ(Run(R"T({{- /* c */ -}}  x  {{/* multi
line */}}y)T"),
            R"T(x  y)T");
  EXPECT_EQ(Run(R"T({{-3}})T"), R"T(-3)T");
  EXPECT_EQ(Run(R"T({{ if
  true
}}yes{{ end }})T"),
            R"T(yes)T");
  EXPECT_EQ(Run(R"T(x
  {{- if true }}
  y
  {{- end }}
z)T"),
            R"T(x
  y
z)T");
  EXPECT_EQ(Run(R"T({{ range $i, $e := query "node_x" -}}
  {{ $i }}: {{ $e.Labels.instance }}
{{ end -}})T"),
            R"T(0: a
1: b
)T");
}

TEST_F(TemplateTest, Literals) {
  EXPECT_EQ(Run(R"T({{ "a" }} {{ `raw
` }} {{ "\u00e9\x41\101\t|" }} {{ 'a' }} {{ 1e3 }} {{ 0x1F }} {{ 1_000 }} {{ -5 }} {{ 1.0 }} {{ 017 }} {{ true }} {{ 0b101 }} {{ 0o17 }} {{ .5 }})T"),
            R"T(a raw
 éAA	| 97 1000 31 1000 -5 1 15 true 5 15 0.5)T");
  EXPECT_EQ(Run(R"T({{ "a" }}{{ "b" }}{{/* */}}{{ "c" }})T"), R"T(abc)T");
}

TEST_F(TemplateTest, Builtins) {
  EXPECT_EQ(
      Run(R"T({{ eq 1 2 3 1 }} {{ eq "a" "b" }} {{ and 1 0 2 }} {{ or 0 "" "x" }} {{ not 0 }} {{ and 1 2 }} {{ or 0 0 }} {{ not "" }} {{ len "héllo" }} {{ len $labels }})T"),
      R"T(true false 0 x true 2 0 true 6 1)T");
  EXPECT_EQ(
      Run(R"T({{ gt $value 1.0 }} {{ lt $value 1.0 }} {{ eq $value $value }} {{ if $value }}t{{ else }}f{{ end }})T",
          kNaN),
      R"T(true false false t)T");
  EXPECT_EQ(
      Run(R"T({{ eq 1.5 1.5 2 }} {{ le 1.0 1.0 }} {{ gt "b" "a" }} {{ ge 1 1 }} {{ ne "a" "a" }} {{ eq nil nil }} {{ eq nil 1 }})T"),
      R"T(true true true true false true false)T");
  EXPECT_EQ(
      Run(R"T({{ index (args "a" "b") "arg1" }} {{ index (args) "x" }} {{ index (args 1) "arg0" | printf "%T" }} {{ index "abc" 1 }} {{ (index (query "node_x") 1).Value }})T"),
      R"T(b <no value> int 98 3)T");
  EXPECT_EQ(
      Run(R"T({{ slice "abc" 1 }} {{ slice "abc" 1 2 }} {{ slice "abc" }} {{ slice "abc" 3 }} {{ len (slice (query "node_x") 0 1 2) }})T"),
      R"T(bc b abc  1)T");
  EXPECT_EQ(
      Run(R"T({{ print 1 2 "a" "b" 3 }}|{{ println 1 "a" }}|{{ print nil }}|{{ print }}|{{ print 1.5 true }}|{{ print "a" nil "b" }}|{{ print 1 nil 2 }})T"),
      R"T(1 2ab3|1 a
|<nil>||1.5 true|a<nil>b|1 <nil> 2)T");
  EXPECT_EQ(
      Run(R"T({{ safeHtml "<b>x</b>" }} {{ html "<a href='x'>&</a>" }} {{ js "it's \"x\" <y> & =\x0a\x01é\u2028" }} {{ urlquery "a b&c=d/é" }})T"),
      R"T(<b>x</b> &lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt; it\'s \"x\" \u003Cy\u003E \u0026 \u003D\u000A\u0001é\u2028 a+b%26c%3Dd%2F%C3%A9)T");
  EXPECT_EQ(Run(R"T({{ html "a" 1 "b" }} {{ html 1 2 }} {{ js nil }} {{ urlquery nil 1 }})T"),
            R"T(a1b 1 2 \u003Cno value\u003E %3Cno+value%3E1)T");
  EXPECT_EQ(
      Run(R"T({{ $value | printf "%.1f" }} {{ "x" | printf "%s-%s" "y" }} {{ $labels.job | toUpper | printf "[%s]" }} {{ "a" | printf "%s %s" "b" | printf "%s|%s" "c" }})T"),
      R"T(0.0 y-x [NODE] c|b a)T");
  EXPECT_EQ(
      Run(R"T({{ print 1 | print 2 }} {{ 1 | print 2 | print "x" }} {{ $labels.job | len }} {{ len $labels.job | printf "%03d" }})T"),
      R"T(21 x2 1 4 004)T");
}

TEST_F(TemplateTest, Printf) {
  EXPECT_EQ(
      Run(R"T({{ printf "%d %5d %-5d| %05d %x %X %o %b %c %q %+d" 42 42 42 -42 255 255 8 5 65 65 7 }})T"),
      R"T(42    42 42   | -0042 ff FF 10 101 A 'A' +7)T");
  EXPECT_EQ(
      Run(R"T({{ printf "%s %10s %-10s| %.2s %q %x %v" "abc" "abc" "abc" "abcdef" "a\"b\x0a\t\x01é\u00ad" "hi" "v" }})T"),
      R"T(abc        abc abc       | ab "a\"b\n\t\x01é\u00ad" 6869 v)T");
  EXPECT_EQ(
      Run(R"T({{ printf "%.2f %f %e %g %.3g %10.2f %-10.2f| %+.1f %08.3f %v %G %E" 3.14159 1.5 123456.789 0.000012345 1234567.0 3.14159 3.14159 2.0 -3.14159 1e21 1e-7 1e7 }})T"),
      R"T(3.14 1.500000 1.234568e+05 1.2345e-05 1.23e+06       3.14 3.14      | +2.0 -003.142 1e+21 1E-07 1.000000E+07)T");
  EXPECT_EQ(
      Run(R"T({{ printf "%.2f" 1e21 }} {{ printf "%d" 3.5 }} {{ printf "%s" 5 }} {{ printf "%d" "x" }} {{ printf "%d %d" 1 }} {{ printf "%d" 1 2 }} {{ printf "%!" }} {{ printf "100%%" }} {{ printf "%t %v" true false }})T"),
      R"T(1000000000000000000000.00 %!d(float64=3.5) %!s(int=5) %!d(string=x) 1 %!d(MISSING) 1%!(EXTRA int=2) %!!(MISSING) 100% true false)T");
  EXPECT_EQ(Run(R"T({{ printf "%05s|%5.1s|%-5s|%5q" "ab" "xyz" "é" "é" }})T"),
            R"T(000ab|    x|é    |  "é")T");
  EXPECT_EQ(
      Run(R"T({{ printf "%s" $labels }} {{ printf "%v" $labels }} {{ printf "%d" $labels }} {{ printf "%s" nil }} {{ printf "%v" nil }})T"),
      R"T(map[job:node] map[job:node] map[%!d(string=job):%!d(string=node)] %!s(<nil>) <nil>)T");
  EXPECT_EQ(
      Run(R"T({{ printf "%.0f %.0f %.0f %.1f" 0.5 1.5 2.5 0.25 }} {{ printf "%6.2f%%" 12.3456 }} {{ printf "% d % d" 5 -5 }} {{ printf "%x" -255 }} {{ printf "%.3d" 7 }} {{ printf "%.0d" 0 }})T"),
      R"T(0 2 2 0.2  12.35%  5 -5 -ff 007 )T");
  EXPECT_EQ(Run(R"T({{ printf "%f|%5.1f|%v|%e|%g" $value $value $value $value $value }})T", -kInf),
            R"T(-Inf| -Inf|-Inf|-Inf|-Inf)T");
  EXPECT_EQ(
      Run(R"T({{ printf "%z %!" 1 }} {{ printf "%T %T %T %T %T" 1 "a" 1.5 $labels nil }} {{ printf "%U %#x %#X %#o %O %#08x %08d %+05d %x" 65 255 255 8 8 255 -42 42 "hi" }} {{ printf "%#x" "hi" }})T"),
      R"T(%!z(int=1) %!!(MISSING) int string float64 map[string]string <nil> U+0041 0xff 0XFF 010 0o10 0x000000ff -0000042 +0042 6869 0x6869)T");
  EXPECT_EQ(
      Run(R"T({{ printf "%5t|%-7v|%3c|%05.1f|%-8.3e|%+v|% v" true false 65 -2.345 1234.5 3 4 }})T"),
      R"T( true|false  |  A|-02.3|1.234e+03|3| 4)T");
  EXPECT_EQ(
      Run(R"T({{ printf "%08.3f|%+08.2f|%08f|%-08d|%8.3d|%x|%X" -3.14159 2.5 -1.5 5 7 "é" 3.0 }})T"),
      R"T(-003.142|+0002.50|-1.500000|5       |     007|c3a9|0X1.8P+01)T");
  EXPECT_EQ(
      Run(R"T({{ printf "%v|%s|%d" (args 1 "a") (args 1 "a") (args 1 "a") }})T"),
      R"T(map[arg0:1 arg1:a]|map[arg0:%!s(int=1) arg1:a]|map[%!d(string=arg0):1 %!d(string=arg1):%!d(string=a)])T");
  EXPECT_EQ(
      Run(R"T({{ printf "%q %q %q %q" 'é' 10 0x1F600 '\t' }} {{ printf "%c%c" 0x1F600 233 }})T"),
      R"T('é' '\n' '😀' '\t' 😀é)T");
  EXPECT_EQ(Run(R"T({{ printf "%x %X %.2x %x" 1.5 -0.1 1.0 0.0 }})T"),
            R"T(0x1.8p+00 -0X1.999999999999AP-04 0x1.00p+00 0x0p+00)T");
}

TEST_F(TemplateTest, PrometheusFunctions) {
  EXPECT_EQ(
      Run(R"T({{ title "foo bar" }} {{ title "hello_world foo-bar o'neil 123abc" }} {{ toUpper "abc Déjà" }} {{ toLower "ABC ÉTÉ" }} {{ title "élan vital" }})T"),
      R"T(Foo Bar Hello_world Foo-Bar O'Neil 123abc ABC DÉJÀ abc été Élan Vital)T");
  EXPECT_EQ(
      Run(R"T({{ title "a.b-c d\te" }} {{ title "ǆemal" }} {{ toUpper "straße ǆ" }} {{ toLower "İSTANBUL" }} {{ title "\xff" }}|{{ toUpper "a\xffb" }})T"),
      R"T(A.B-C D	E ǅemal STRAßE Ǆ istanbul �|A�B)T");
  EXPECT_EQ(
      Run(R"T({{ match "a.c" "xxabcxx" }} {{ match "^a" "ba" }} {{ match `\d+` "abc123" }} {{ match `^\d+$` "abc123" }} {{ match "" "" }})T"),
      R"T(true false true false true)T");
  EXPECT_EQ(
      Run(R"T({{ reReplaceAll "(a+)" "<$1>" "caaat" }} {{ reReplaceAll "x*" "-" "abc" }} {{ reReplaceAll "(?P<n>b)" "${n}${n}" "abc" }} {{ reReplaceAll "(b)" "$1x" "abc" }} {{ reReplaceAll "(b)" "$$1" "abc" }} {{ reReplaceAll "(b)" "${1}x" "abc" }} {{ reReplaceAll ":.*" "" "host:9100" }})T"),
      R"T(c<aaa>t -a-b-c- abbc ac a$1c abxc host)T");
  EXPECT_EQ(
      Run(R"T({{ reReplaceAll "a|" "X" "baaac" }} {{ reReplaceAll "" "-" "héllo" }} {{ reReplaceAll "(b)?" "[$1]" "abc" }})T"),
      R"T(XbXXXcX -h-é-l-l-o- []a[b]c[])T");
  EXPECT_EQ(
      Run(R"T({{ reReplaceAll "a(?P<x>b)?" "[${x}|$x|${1}|$1a|$}|${|$]" "ab a" }} {{ reReplaceAll "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)" "$10|${1}0" "abcdefghij" }})T"),
      R"T([b|b|b||$}|${|$] [||||$}|${|$] j|a0)T");
  // A group name ends at an invalid byte, as at any other non-word rune ("\xc1\x83", overlong,
  // would decode to 'C'; taking it for a letter once hung the expansion).
  EXPECT_EQ(Run(R"T({{ reReplaceAll "(b)" "[$1\xc1\x83|${1\xc1\x83}|$C\xc1x]" "abc" }})T"),
            "a[b\xc1\x83|${1\xc1\x83}|\xc1x]c");
  EXPECT_EQ(
      Run(R"T({{ reReplaceAll "^" "X" "abc" }} {{ reReplaceAll "$" "X" "abc" }} {{ reReplaceAll `\b` "|" "ab cd" }} {{ reReplaceAll "(?i)A" "x" "aA" }} {{ $p := "b+" }}{{ reReplaceAll $p "B" "abbc" }} {{ match $p "xbx" }})T"),
      R"T(Xabc abcX |ab| |cd| xx aBc true)T");
  EXPECT_EQ(
      Run(R"T({{ graphLink "rate(x{a=\"b c\"}[5m])" }} {{ tableLink "up == 0" }} {{ graphLink "" }} {{ tableLink "a+b *~!'()" }})T"),
      R"T(/graph?g0.expr=rate%28x%7Ba%3D%22b+c%22%7D%5B5m%5D%29&g0.tab=0 /graph?g0.expr=up+%3D%3D+0&g0.tab=1 /graph?g0.expr=&g0.tab=0 /graph?g0.expr=a%2Bb+%2A~%21%27%28%29&g0.tab=1)T");
  EXPECT_EQ(
      Run(R"T({{ stripPort "host:9100" }} {{ stripPort "host" }} {{ stripPort "[::1]:80" }} {{ stripPort "::1" }} {{ stripPort "a:b:c" }} {{ stripPort "[::1]" }} {{ stripPort ":80" }} {{ stripPort "host:" }})T"),
      R"T(host host ::1 ::1 a:b:c [::1]  host)T");
  EXPECT_EQ(
      Run(R"T({{ stripDomain "foo.bar.com:9090" }} {{ stripDomain "foo.bar" }} {{ stripDomain "1.2.3.4:80" }} {{ stripDomain "[::1]:80" }} {{ stripDomain "foo" }} {{ stripDomain "::1" }} {{ stripDomain "01.2.3.4" }} {{ stripDomain "[fe80::1%eth0]:80" }})T"),
      R"T(foo:9090 foo 1.2.3.4:80 [::1]:80 foo ::1 01 [fe80::1%eth0]:80)T");
  EXPECT_EQ(
      Run(R"T({{ parseDuration "1h30m" }} {{ parseDuration "0" }} {{ parseDuration "1d" }} {{ parseDuration "500ms" }} {{ parseDuration "1y2w3d4h5m6s7ms" }})T"),
      R"T(5400 0 86400 0.5 3.3019506007e+07)T");
  EXPECT_EQ(
      Run(R"T({{ toTime 1679000000 }} {{ toTime 1679000000.25 }} {{ (toTime 1679000000.5).Unix }} {{ (toTime -1.5).Unix }} {{ (toTime 1679000000.5).UnixMilli }})T"),
      R"T(2023-03-16 20:53:20 +0000 UTC 2023-03-16 20:53:20.249 +0000 UTC 1679000000 -2 1679000000500)T");
  EXPECT_EQ(
      Run(R"T({{ with toTime 1679000000 }}{{ .Year }}-{{ .YearDay }}-{{ .Day }} {{ .Hour }}:{{ .Minute }}:{{ .Second }} {{ .Nanosecond }} {{ .UTC }} {{ .String }}{{ end }})T"),
      R"T(2023-75-16 20:53:20 0 2023-03-16 20:53:20 +0000 UTC 2023-03-16 20:53:20 +0000 UTC)T");
  EXPECT_EQ(
      Run(R"T({{ strvalue (first (query "node_x")) }}|{{ args 1 "a" 2.5 }}|{{ (args 1 2).arg1 }}|{{ (args 1).arg5 }})T"),
      R"T(|map[arg0:1 arg1:a arg2:2.5]|2|<no value>)T");
  EXPECT_EQ(
      Run(R"T({{ eq (safeHtml "a") "a" }} {{ len (safeHtml "ab") }} {{ printf "%s|%q" (safeHtml "a") (safeHtml "b") }} {{ print (safeHtml "x") 1 }})T"),
      R"T(true 2 a|"b" x1)T");
}

TEST_F(TemplateTest, Queries) {
  EXPECT_EQ(Run(R"T({{ range query "node_x" }}{{ .Labels.instance }}={{ .Value }};{{ end }})T"),
            R"T(a=5;b=3;)T");
  EXPECT_EQ(
      Run(R"T({{ range $i, $s := query "node_x" }}{{ $i }}:{{ $s.Labels.instance }}={{ value $s }}/{{ label "instance" $s }};{{ end }})T"),
      R"T(0:a=5/a;1:b=3/b;)T");
  EXPECT_EQ(
      Run(R"T({{ with query "node_x" }}{{ . | first | value }}{{ end }} {{ (query "node_x" | first).Labels.instance }})T"),
      R"T(5 a)T");
  EXPECT_EQ(
      Run(R"T({{ range sortByLabel "instance" (query "node_x") }}{{ .Labels.instance }}{{ end }} {{ range sortByLabel "nope" (query "node_x") }}{{ .Value }}{{ end }} {{ range sortByLabel "instance" nil }}x{{ end }})T"),
      R"T(ab 53 )T");
  EXPECT_EQ(
      Run(R"T({{ first (query "node_x") }} {{ printf "%v" (first (query "node_x")) }} {{ print (first (query "node_x")) }} {{ html (first (query "node_x")) }})T"),
      R"T({map[__name__:node_x instance:a] 5} &{map[__name__:node_x instance:a] 5} &{map[__name__:node_x instance:a] 5} {map[__name__:node_x instance:a] 5})T");
  EXPECT_EQ(
      Run(R"T({{ with query "nothing" }}yes{{ else }}no{{ end }} {{ range query "nothing" }}x{{ else }}empty{{ end }} {{ sortByLabel "instance" (query "nothing") }})T"),
      R"T(no empty [])T");
  EXPECT_EQ(
      Run(R"T({{ with first (query "node_x") }}{{ .Labels }}{{ .Value }}{{ end }} {{ $s := first (query "node_x") }}{{ $s.Labels.instance }} {{ index $s.Labels "instance" }})T"),
      R"T(map[__name__:node_x instance:a]5 a a)T");
  EXPECT_EQ(
      Run(R"T({{ len (query "node_x") }} {{ len (args 1 2) }} {{ eq (first (query "node_x")) (first (query "node_x")) }})T"),
      R"T(2 2 false)T");
}

// ---- The API ----

TEST_F(TemplateTest, ConstantTextIsReturnedAsIs) {
  auto parsed = Template::Parse("annotation summary of A", "no actions here { } }}");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->is_constant());
  EXPECT_EQ(parsed->name(), "annotation summary of A");
  EXPECT_EQ(parsed->text(), "no actions here { } }}");
  EXPECT_EQ(*parsed->Execute(data_), "no actions here { } }}");
  auto empty = Template::Parse("t", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->is_constant());
  EXPECT_EQ(*empty->Execute(data_), "");
  // A comment is an action: the text is not the output.
  auto comment = Template::Parse("t", "a{{/* x */}}b");
  ASSERT_TRUE(comment.ok());
  EXPECT_FALSE(comment->is_constant());
  EXPECT_EQ(*comment->Execute(data_), "ab");
}

TEST_F(TemplateTest, ExecuteToAppendsAndKeepsPartialOutputOnError) {
  auto parsed = Template::Parse("t", "{{ $labels.job }} is {{ humanize \"x\" }}");
  ASSERT_TRUE(parsed.ok());
  std::string out = "prefix:";
  const Status status = parsed->ExecuteTo(data_, out);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(out, StartsWith("prefix:node is "));
  auto good = Template::Parse("t", "{{ $labels.job }}");
  std::string again = "x=";
  ASSERT_TRUE(good->ExecuteTo(data_, again).ok());
  EXPECT_EQ(again, "x=node");
}

TEST_F(TemplateTest, NullLabelsAreEmptyMapsAndDataIsNotCopied) {
  TemplateData data;
  auto parsed =
      Template::Parse("t", "[{{ $labels.job }}]{{ .Labels }}{{ $externalLabels }}{{ . }}");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed->Execute(data), "[]map[]map[]{map[] map[]  0}");
  // The same template over other data: nothing of the first execution remains.
  tsdb::Labels labels = {{"job", "other"}};
  data.labels = &labels;
  EXPECT_EQ(*parsed->Execute(data), "[other]map[job:other]map[]{map[job:other] map[]  0}");
}

TEST_F(TemplateTest, ExecutesConcurrently) {
  auto parsed = Template::Parse(
      "t",
      "{{ range query \"node_x\" }}{{ .Labels.instance }}{{ humanize .Value }}{{ end }}"
      "{{ $v := printf \"%.1f\" $value }}{{ $v }}{{ reReplaceAll \"(o)\" \"0\" $labels.job }}");
  ASSERT_TRUE(parsed.ok());
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      TemplateData data = data_;
      data.value = t;
      const std::string expected = "a5b3" + std::to_string(t) + ".0n0de";
      for (int i = 0; i < 500; ++i) {
        auto out = parsed->Execute(data);
        if (!out.ok() || *out != expected) ++failures[static_cast<size_t>(t)];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

TEST_F(TemplateTest, QueryResultsOutliveTheQueryCall) {
  // Samples, their labels and label values stay valid after the vector that held them is gone.
  EXPECT_EQ(
      Run("{{ $s := first (query \"node_x\") }}{{ $l := $s.Labels }}{{ $i := $l.instance }}"
          "{{ $x := index (query \"node_x\") 1 }}{{ $i }}{{ $l }}{{ $x.Value }}"
          "{{ $n := label \"instance\" (first (sortByLabel \"instance\" (query \"node_x\"))) }}"
          "{{ $n }}{{ $p := stripPort (index (first (query \"up\")).Labels \"instance\") }}{{ $p "
          "}}"),
      "amap[__name__:node_x instance:a]3ahost.example.com");
}

// ---- Parse errors: refused at rule load, with a position ----

TEST_F(TemplateTest, ParseErrorsHavePositionsAndGoReasons) {
  EXPECT_EQ(Run("{{ foo }}"), "parse error: template: t:1:4: function \"foo\" not defined");
  EXPECT_EQ(Run("line one\nline {{ if }}{{ end }}"),
            "parse error: template: t:2:12: missing value for if");
  EXPECT_EQ(Run("{{ if true }}x"), "parse error: template: t:1:15: unexpected EOF");
  EXPECT_EQ(Run("{{ end }}"), "parse error: template: t:1:4: unexpected {{end}}");
  EXPECT_EQ(Run("{{ else }}"), "parse error: template: t:1:4: unexpected {{else}}");
  EXPECT_EQ(Run("{{ if 1 }}{{ else }}{{ else }}{{ end }}"),
            "parse error: template: t:1:24: expected end; found {{else}}");
  EXPECT_EQ(Run("{{ $x }}"), "parse error: template: t:1:4: undefined variable \"$x\"");
  EXPECT_EQ(Run("{{ $x = 1 }}"), "parse error: template: t:1:4: undefined variable \"$x\"");
  EXPECT_EQ(Run("{{ $x := $x }}"), "parse error: template: t:1:10: undefined variable \"$x\"");
  EXPECT_EQ(Run("{{ if true }}{{ $z := 1 }}{{ end }}{{ $z }}"),
            "parse error: template: t:1:39: undefined variable \"$z\"");
  EXPECT_EQ(Run("{{ \"abc }}"), "parse error: template: t:1:4: unterminated quoted string");
  EXPECT_EQ(Run("{{ `abc }}"), "parse error: template: t:1:4: unterminated raw quoted string");
  EXPECT_EQ(Run("{{ \"\\q\" }}"),
            "parse error: template: t:1:4: invalid syntax: bad escape in \"\\q\"");
  EXPECT_EQ(Run("{{ 'ab' }}"), "parse error: template: t:1:4: malformed character constant: 'ab'");
  EXPECT_EQ(Run("{{ 3.x }}"), "parse error: template: t:1:4: bad number syntax: \"3.x\"");
  EXPECT_EQ(Run("{{ 99999999999999999999 }}"),
            "parse error: template: t:1:4: 99999999999999999999 overflows int");
  EXPECT_EQ(Run("{{ 1i }}"), "parse error: template: t:1:4: complex number 1i is not supported");
  EXPECT_EQ(Run("{{ (1 }}"), "parse error: template: t:1:7: unclosed left paren");
  EXPECT_EQ(Run("{{ 1 "), "parse error: template: t:1:6: unclosed action");
  EXPECT_EQ(Run("{{/* x "), "parse error: template: t:1:1: unclosed comment");
  EXPECT_EQ(Run("{{/* x */ 1 }}"),
            "parse error: template: t:1:1: comment ends before closing delimiter");
  EXPECT_EQ(Run("{{ a! }}"), "parse error: template: t:1:5: bad character U+0021 '!'");
  EXPECT_EQ(Run("{{ \"a\" | \"b\" }}"),
            "parse error: template: t:1:10: non executable command in pipeline stage 2");
  EXPECT_EQ(Run("{{ range $a, $b, $c := . }}{{ end }}"),
            "parse error: template: t:1:16: too many declarations in range");
  EXPECT_EQ(Run("{{ break }}"), "parse error: template: t:1:4: {{break}} outside {{range}}");
  EXPECT_EQ(Run("{{ range $labels }}{{ else if true }}{{ end }}"),
            "parse error: template: t:1:28: unexpected <if> in input");
  EXPECT_EQ(Run("{{ 1) }}"), "parse error: template: t:1:5: unexpected right paren");
}

TEST_F(TemplateTest, ParseRefusesWhatWouldFailEveryExecution) {
  // Go reports these when the action runs; a rule file should not load with them.
  EXPECT_EQ(Run("{{ humanize }}"),
            "parse error: template: t:1:4: wrong number of args for humanize: want 1 got 0");
  EXPECT_EQ(Run("{{ $value | humanize 1 }}"),
            "parse error: template: t:1:13: wrong number of args for humanize: want 1 got 2");
  EXPECT_EQ(Run("{{ and }}"),
            "parse error: template: t:1:4: wrong number of args for and: want at least 1 got 0");
  EXPECT_EQ(Run("{{ eq 1 }}"),
            "parse error: template: t:1:4: error calling eq: missing argument for comparison");
  EXPECT_EQ(Run("{{ toUpper 3 }}"), "parse error: template: t:1:12: expected string; found 3");
  EXPECT_EQ(Run("{{ 3 | toUpper }}"), "parse error: template: t:1:4: expected string; found 3");
  EXPECT_EQ(Run("{{ toUpper nil }}"), "parse error: template: t:1:12: cannot assign nil to string");
  EXPECT_EQ(Run("{{ label \"x\" 3 }}"),
            "parse error: template: t:1:14: can't handle 3 for arg of type *template.sample");
  EXPECT_EQ(
      Run("{{ first \"x\" }}"),
      "parse error: template: t:1:10: can't handle \"x\" for arg of type template.queryResult");
  EXPECT_EQ(Run("{{ nil }}"), "parse error: template: t:1:4: nil is not a command");
  EXPECT_EQ(Run("{{ 1 2 }}"),
            "parse error: template: t:1:4: can't give argument to non-function 1");
  EXPECT_EQ(Run("{{ .Labels \"x\" }}"),
            "parse error: template: t:1:4: can't give argument to non-function .Labels");
  EXPECT_EQ(Run("{{ .Foo }}"),
            "parse error: template: t:1:4: can't evaluate field Foo in type struct { Labels "
            "map[string]string; ExternalLabels map[string]string; ExternalURL string; Value "
            "float64 }");
  EXPECT_THAT(Run("{{ .labels.job }}"),
              HasSubstr("t:1:4: can't evaluate field labels in type struct"));
  EXPECT_EQ(Run("{{ $labels.job.x }}"),
            "parse error: template: t:1:4: can't evaluate field x in type string");
  EXPECT_EQ(Run("{{ $value.x }}"),
            "parse error: template: t:1:4: can't evaluate field x in type float64");
  EXPECT_EQ(
      Run("{{ match \"(\" $labels.job }}"),
      "parse error: template: t:1:4: error calling match: error parsing regexp: missing ): (");
  EXPECT_EQ(Run("{{ printf \"%p\" 1 }}"),
            "parse error: template: t:1:4: printf: verb %p is not supported");
  EXPECT_EQ(Run("{{ printf \"%#v\" 1 }}"),
            "parse error: template: t:1:4: printf: flag # with %v is not supported");
  EXPECT_EQ(Run("{{ printf \"%*d\" 1 2 }}"),
            "parse error: template: t:1:4: printf: '*' in a format is not supported");
  EXPECT_EQ(Run("{{ printf \"%[1]d\" 1 }}"),
            "parse error: template: t:1:4: printf: '[' in a format is not supported");
  // Not supported at all.
  EXPECT_THAT(Run("{{ template \"x\" }}"), HasSubstr("t:1:4: {{template}} is not supported"));
  EXPECT_THAT(Run("{{ define \"x\" }}{{ end }}"), HasSubstr("{{define}} is not supported"));
  EXPECT_THAT(Run("{{ block \"x\" . }}{{ end }}"), HasSubstr("{{block}} is not supported"));
  EXPECT_EQ(Run("{{ call humanize 1 }}"),
            "parse error: template: t:1:4: function \"call\" is not supported");
  EXPECT_EQ(
      Run("{{ range $i = $labels }}{{ end }}"),
      "parse error: template: t:1:10: assigning range variables with = is not supported; use :=");
  EXPECT_THAT(Run("{{ (toTime 1).Format \"2006\" }}"),
              HasSubstr("methods with arguments, such as time's Format, are not supported"));
  EXPECT_THAT(Run("{{ é }}"), HasSubstr("only ASCII is supported in actions"));
  std::string deep;
  for (int i = 0; i < 150; ++i) deep += "(";
  EXPECT_THAT(Run("{{ " + deep + "1 }}"), HasSubstr("nested too deeply"));
}

TEST_F(TemplateTest, ExpansionIsBounded) {
  // Nested ranges multiply: 2^30 iterations stop at the step limit instead of running for hours.
  std::string nested;
  for (int i = 0; i < 30; ++i) nested += "{{ range query \"node_x\" }}";
  nested += "x";
  for (int i = 0; i < 30; ++i) nested += "{{ end }}";
  EXPECT_THAT(Run(nested), HasSubstr("expansion stopped: more than 4000000 steps"));
  EXPECT_EQ(Run("{{ printf \"%20000d\" 1 }}"),
            "parse error: template: t:1:4: printf: a width or precision above 10000 is not "
            "supported");
}

// ---- Run-time errors: the action and Go's reason ----

TEST_F(TemplateTest, RuntimeErrorsNameTheActionAndReason) {
  EXPECT_EQ(Run("x\n  {{ humanize \"abc\" }}"),
            "error: template: t:2:6: executing at <humanize \"abc\">: error calling humanize: "
            "strconv.ParseFloat: parsing \"abc\": invalid syntax");  // promtool: same reason
  EXPECT_EQ(Run("{{ humanize true }}"),
            "error: template: t:1:4: executing at <humanize true>: error calling humanize: can't "
            "convert bool to float");
  EXPECT_EQ(
      Run("{{ first (query \"nothing\") }}"),
      "error: template: t:1:4: executing at <first (query \"nothing\")>: error calling first: "
      "first() called on vector with no elements");
  EXPECT_EQ(Run("{{ if gt $value 5 }}big{{ end }}"),
            "error: template: t:1:7: executing at <gt $value 5>: error calling gt: incompatible "
            "types for comparison");
  EXPECT_EQ(Run("{{ toUpper $value }}"),
            "error: template: t:1:4: executing at <toUpper $value>: wrong type for value; expected "
            "string; got float64");
  EXPECT_EQ(Run("{{ safeHtml \"a\" | toUpper }}"),
            "error: template: t:1:19: executing at <toUpper>: wrong type for value; expected "
            "string; got template.HTML");
  EXPECT_EQ(Run("{{ index (query \"node_x\") 5 }}"),
            "error: template: t:1:4: executing at <index (query \"node_x\") 5>: error calling "
            "index: index out of range: 5");
  EXPECT_EQ(Run("{{ index $labels 1 }}"),
            "error: template: t:1:4: executing at <index $labels 1>: error calling index: value "
            "has type int; should be string");
  EXPECT_EQ(Run("{{ len 3 }}"),
            "error: template: t:1:4: executing at <len 3>: error calling len: len of type int");
  EXPECT_EQ(Run("{{ range 5 }}x{{ end }}"),
            "error: template: t:1:10: executing at <5>: range can't iterate over 5");
  EXPECT_EQ(Run("{{ parseDuration \"abc\" }}"),
            "error: template: t:1:4: executing at <parseDuration \"abc\">: error calling "
            "parseDuration: not a valid duration string: \"abc\"");
  EXPECT_EQ(Run("{{ humanizeTimestamp 253402300800 }}"),
            "error: template: t:1:4: executing at <humanizeTimestamp 253402300800>: error calling "
            "humanizeTimestamp: 2.534023008e+11 cannot be represented as a nanoseconds timestamp "
            "since it overflows int64");
  EXPECT_EQ(Run("{{ toTime \"NaN\" }}"),
            "error: template: t:1:4: executing at <toTime \"NaN\">: error calling toTime: value is "
            "NaN or Inf");
  EXPECT_EQ(Run("{{ value nil }}"),
            "error: template: t:1:4: executing at <value nil>: error calling value: runtime error: "
            "invalid memory address or nil pointer dereference");
  EXPECT_EQ(
      Run("{{ slice \"abc\" 2 1 }}"),
      "error: template: t:1:4: executing at <slice \"abc\" 2 1>: error calling slice: invalid "
      "slice index: 2 > 1");
  EXPECT_EQ(
      Run("{{ range $labels }}{{ .Foo }}{{ end }}"),
      "error: template: t:1:23: executing at <.Foo>: can't evaluate field Foo in type string");
  EXPECT_EQ(Run("{{ (args).x.y }}"),
            "error: template: t:1:4: executing at <(args).x.y>: nil pointer evaluating interface "
            "{}.y");
  EXPECT_EQ(Run("{{ $p := \"(\" }}{{ reReplaceAll $p \"x\" \"y\" }}"),
            "error: template: t:1:19: executing at <reReplaceAll $p \"x\" \"y\">: error calling "
            "reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing ): (");
  EXPECT_EQ(Run("{{ (toTime 1).Month }}"),
            "error: template: t:1:4: executing at <(toTime 1).Month>: method Month of time.Time is "
            "not supported (supported: Unix, UnixMilli, UnixMicro, UnixNano, UTC, String, Year, "
            "YearDay, Day, Hour, Minute, Second, Nanosecond)");
  EXPECT_EQ(Run("{{ printf \"%x\" 5e-324 }}"),
            "error: template: t:1:4: executing at <printf \"%x\" 5e-324>: error calling printf: "
            "printf verb %x of this float64 is not supported");
}

TEST_F(TemplateTest, QueryFailuresAndQueryResultsThatGoPrintsAsAddresses) {
  EXPECT_EQ(Run("{{ query \"bad((\" }}"),
            "error: template: t:1:4: executing at <query \"bad((\">: error calling query: parse "
            "error: unexpected character in \"bad((\"");
  // Go prints a query result as pointers ([0xc000...]): refused rather than made up.
  EXPECT_THAT(Run("{{ query \"node_x\" }}"), HasSubstr("printing a query result is not supported"));
  EXPECT_THAT(Run("{{ args (first (query \"node_x\")) }}"),
              HasSubstr("printing a sample inside another value is not supported"));
  EXPECT_EQ(Run("{{ query \"nothing\" }}"), "[]");
  data_.query = nullptr;
  EXPECT_EQ(Run("{{ query \"up\" }}"),
            "error: template: t:1:4: executing at <query \"up\">: error calling query: queries are "
            "not available here");
}

TEST_F(TemplateTest, ExternalUrlFunctions) {
  // promtool runs templates without an external URL; these follow Prometheus' url.URL.
  EXPECT_EQ(Run("{{ externalURL }} {{ pathPrefix }}"),
            "http://prom.example.com:9090/prefix /prefix");
  data_.external_url = "https://x.example.com/a%20b/c?q=1#f";
  EXPECT_EQ(Run("{{ pathPrefix }}"), "/a b/c");
  data_.external_url = "http://x:9090";
  EXPECT_EQ(Run("[{{ pathPrefix }}]"), "[]");
}

}  // namespace
}  // namespace mingus::collector::rules
