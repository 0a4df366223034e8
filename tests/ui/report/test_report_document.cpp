// The pruning report from JSON reports shaped like the CLI's, with numbers chosen so that what the
// report must print is known by hand; its sections, tables, SVG charts and PDF; bad inputs; and
// the same report drawn by a browser (Debian's chromium, headless) and by pdftoppm.

#include "common/error.h"
#include "report/report_content.h"
#include "report/report_document.h"

#include <QColor>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

using namespace layerlab;
using namespace layerlab::ui;
using nlohmann::json;

namespace {

QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

void writeJson(const QString& path, const json& j) {
    std::ofstream(path.toStdString()) << j.dump(1);
}

// A model folder with two files, and one report of each kind about it (3 layers).
struct Study {
    QTemporaryDir dir;
    QString model = dir.filePath(QStringLiteral("tiny-llama"));
    std::vector<std::filesystem::path> files;

    Study() {
        QDir().mkpath(model);
        std::ofstream((model + "/config.json").toStdString()) << "{}"; // SHA-256 of "{}" is known
        std::ofstream((model + "/model.safetensors").toStdString()) << "";
        const std::string m = model.toStdString();
        add("importance.json",
            {{"model", m},
             {"num_layers", 3},
             {"scores",
              {{"cosine",
                {{"block", {0.9, 0.25, 0.5}}, {"attn", {0.5, 0.125, 0.25}}, {"ffn", {0.75, 0.2, 0.3}}}},
               {"shapley", {{"block", {1.5, 0.0625, 0.375}}}}}},
             {"stderr", {{"shapley", {{"block", {0.01, 0.02, 0.03}}}}}},
             {"settings", {{"device", "cpu"}, {"dtype", "f32"}}},
             {"command", "layerlab-cli importance --metrics cosine,shapley --json importance.json"}});
        json rows = json::array();
        auto row = [&](const char* metric, const char* g, int k, const char* removed, double fraction,
                       double ppl) {
            rows.push_back({{"metric", metric},
                            {"granularity", g},
                            {"units_removed", k},
                            {"removed", removed},
                            {"parameter_fraction", fraction},
                            {"loss", std::log(ppl)},
                            {"perplexity", ppl}});
        };
        row("cosine", "block", 0, "", 0.0, 20.0);
        row("cosine", "block", 1, "block:1", 0.25, 31.25);
        row("cosine", "attn", 0, "", 0.0, 20.0);
        row("cosine", "attn", 1, "attn:1", 0.0625, 22.5);
        add("sweep.json", {{"model", m},
                           {"rows", rows},
                           {"removal_order", {{"cosine", {1, 2, 0}}}},
                           {"command", "layerlab-cli sweep --metric cosine --json sweep.json"}});
        add("recover.json", {{"model", m},
                             {"removed", "block:1"},
                             {"method", "lowrank:8"},
                             {"full", {{"loss", 3.0}, {"perplexity", 20.0}}},
                             {"removed_only", {{"loss", 3.5}, {"perplexity", 31.25}}},
                             {"recovered", {{"loss", 3.25}, {"perplexity", 25.75}}},
                             {"command", "layerlab-cli recover --remove block:1 --method lowrank:8"}});
        add("eval.json", {{"model", m},
                          {"removed", "block:1"},
                          {"loss", 3.5},
                          {"perplexity", 31.25},
                          {"tasks", {{"next_verse", {{"acc", 0.375}, {"acc_norm", 0.5}, {"items", 8}}}}},
                          {"cost",
                           {{"attention_removed", 1},
                            {"ffn_removed", 1},
                            {"blocks_removed", 1},
                            {"parameters_total", 1000},
                            {"parameters_removed", 250},
                            {"kv_bytes_per_token", 3072},
                            {"kv_bytes_per_token_saved", 1024},
                            {"flops_per_token", 2e9},
                            {"flops_per_token_saved", 5e8}}},
                          {"generation",
                           {{"prompt", "And God said"},
                            {"text", " let there be <light>"},
                            {"tokens", {11, 12, 13, 14}},
                            {"stop_reason", "length"},
                            {"temperature", 0},
                            {"top_p", 1},
                            {"seed", 0}}}});
        add("eval_full.json",
            {{"model", m},
             {"removed", ""},
             {"loss", 3.0},
             {"perplexity", 20.0},
             {"tasks", {{"next_verse", {{"acc", 0.5}, {"acc_norm", 0.625}, {"items", 8}}}}}});
        // Task-answer importance for two tasks: each a run of its own with the same metric name.
        for (const auto& [task, scores] :
             {std::pair{"hellaswag", json{0.125, 0.5, 0.25}}, std::pair{"piqa", json{0.75, 0.0, 0.375}}})
            add((std::string(task) + "_importance.json").c_str(),
                {{"model", m},
                 {"num_layers", 3},
                 {"scores", {{"drop_task_loss", {{"block", scores}}}}},
                 {"settings",
                  {{"value_function", "task_loss"}, {"task_file", "/data/" + std::string(task) + ".jsonl"}}},
                 {"command", "layerlab-cli importance --value-function task_loss:/data/" + std::string(task) +
                                 ".jsonl"}});
        add("export.json",
            {{"format", "hf"},
             {"source", {{"path", m}, {"num_layers", 3}}},
             {"removed", "block:1"},
             {"layers", json::array({json::object(), json::object()})},
             {"runtimes", {{{"runtime", "vLLM"}, {"loads", "yes"}, {"detail", "LlamaForCausalLM"}}}}});
    }
    void add(const char* name, const json& j) {
        writeJson(dir.filePath(name), j);
        files.emplace_back(dir.filePath(name).toStdString());
    }
};

QStringList sectionIds(const QString& html) {
    QStringList ids;
    static const QRegularExpression section(QStringLiteral("<section id=\"([a-z-]+)\""));
    for (auto it = section.globalMatch(html); it.hasNext();)
        ids << it.next().captured(1);
    return ids;
}

} // namespace

TEST(ReportDocument, SectionsNumbersAndChartsFromCliReports) {
    Study s;
    auto content = reportFromFiles(s.files);
    hashModelFiles(content, {});
    ASSERT_EQ(content.modelFiles.size(), 2u);
    EXPECT_EQ(content.modelFiles[0].name, "config.json");
    EXPECT_EQ(content.modelFiles[0].sha256,
              "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    EXPECT_EQ(content.layers, 3);
    const QString path = s.dir.filePath(QStringLiteral("report.html"));
    ASSERT_EQ(writeHtmlReport(content, path), QString());
    const QString html = QString::fromUtf8(readAll(path));

    EXPECT_EQ(sectionIds(html), (QStringList{"layer-map", "importance", "metric-agreement", "pruning-curves",
                                             "equal-savings", "task-importance", "cost", "recovery",
                                             "evaluations", "generations", "export", "provenance"}));
    // One inline SVG per figure: cosine and shapley importance, their block scores against each
    // other, two curves (block, attn), one equal-savings comparison (cosine has two
    // granularities), the recovery bars.
    EXPECT_EQ(html.count(QStringLiteral("<svg")), 7);
    for (const char* id : {"importance-cosine", "importance-shapley", "scatter-cosine-shapley", "curve-block",
                           "curve-attn", "equal-savings-cosine", "recovery"})
        EXPECT_TRUE(html.contains(QStringLiteral("<figure class=\"chart\" id=\"%1\"").arg(id))) << id;
    EXPECT_FALSE(html.contains(QStringLiteral("<?xml"))); // the SVGs' prologs stay out
    EXPECT_TRUE(html.contains(QStringLiteral("Importance per layer: cosine")));
    // The numbers, as printed (6 significant digits): recovery 20 / 31.25 / 25.75, loss change
    // 3.25 - 3.5 = -0.25; the sweep's 6.25 % of parameters; the task's accuracies.
    EXPECT_TRUE(html.contains(QStringLiteral(
        "<td>block:1</td><td>lowrank:8</td><td>20</td><td>31.25</td><td>25.75</td><td>-0.25</td>")));
    EXPECT_TRUE(
        html.contains(QStringLiteral("<td>cosine</td><td>attn</td><td>1</td><td>attn:1</td><td>6.25</td>")));
    // cosine and shapley order the blocks alike (0.9 > 0.5 > 0.25, 1.5 > 0.375 > 0.0625): rho = tau = 1.
    EXPECT_TRUE(
        html.contains(QStringLiteral("<td>block</td><td>cosine</td><td>shapley</td><td>1</td><td>1</td>")));
    EXPECT_TRUE(html.contains(QStringLiteral("next_verse: acc 0.375, acc_norm 0.5 (8 items)")));
    EXPECT_TRUE(html.contains(QStringLiteral("<td>vLLM</td><td>yes</td>")));
    // The layer map colours each column over its range (no far outliers among three values):
    // cosine blocks 0.9 is the darkest viridis stop (white text), 0.25 the lightest (black text).
    EXPECT_TRUE(html.contains(QStringLiteral("<figure class=\"heatmap\" id=\"layer-map-heatmap\">")));
    EXPECT_TRUE(html.contains(QStringLiteral("bgcolor=\"#300040\" style=\"color: #ffffff\">0.9</td>")));
    EXPECT_TRUE(html.contains(QStringLiteral("bgcolor=\"#fde725\" style=\"color: #000000\">0.25</td>")));
    // Layers x tasks: the task file's name heads each column; piqa's 0.75 is its darkest.
    EXPECT_TRUE(
        html.contains(QStringLiteral("<figure class=\"heatmap\" id=\"task-heatmap-drop_task_loss\">")));
    EXPECT_TRUE(html.contains(QStringLiteral("<th>hellaswag<br>block</th><th>piqa<br>block</th>")));
    EXPECT_TRUE(html.contains(QStringLiteral("bgcolor=\"#300040\" style=\"color: #ffffff\">0.75</td>")));
    // Each section names the commands that made its data.
    const auto section = [&](const char* id) {
        const auto start = html.indexOf(QStringLiteral("<section id=\"%1\"").arg(QLatin1String(id)));
        return html.mid(start, html.indexOf(QStringLiteral("</section>"), start) - start);
    };
    EXPECT_TRUE(section("task-importance").contains(QStringLiteral("task_loss:/data/piqa.jsonl")));
    EXPECT_FALSE(section("importance").contains(QStringLiteral("task_loss:")));
    EXPECT_TRUE(section("importance").contains(QStringLiteral("--metrics cosine,shapley")));
    // The cost of block:1 beside its quality, against the full model's evaluation.
    EXPECT_TRUE(
        html.contains(QStringLiteral("<td>parameters</td><td>1000</td><td>750</td><td>-250 (-25 %)</td>")));
    EXPECT_TRUE(html.contains(
        QStringLiteral("<td>KV cache per token</td><td>3.0 KiB</td><td>2.0 KiB</td><td>-1.0 KiB</td>")));
    EXPECT_TRUE(html.contains(
        QStringLiteral("<td>FLOPs per token</td><td>2.00 G</td><td>1.50 G</td><td>-500.00 M</td>")));
    EXPECT_TRUE(html.contains(QStringLiteral("<td>perplexity</td><td>20</td><td>31.25</td><td>+11.25</td>")));
    EXPECT_TRUE(
        html.contains(QStringLiteral("<td>next_verse acc</td><td>0.5</td><td>0.375</td><td>-0.125</td>")));
    // The generated text, escaped, after its prompt; eval lists the tokens' ids, four here.
    EXPECT_TRUE(html.contains(QStringLiteral("<b>And God said</b> let there be &lt;light&gt;")));
    EXPECT_TRUE(html.contains(QStringLiteral("greedy; 4 tokens (length)")));
    // Every value of the importance table: layer 2 of cosine ffn.
    EXPECT_TRUE(html.contains(
        QStringLiteral("<tr><td>2</td><td>0.5</td><td>0.25</td><td>0.3</td><td>0.375</td></tr>")));
    // Provenance: commands, the model's files and their hashes.
    EXPECT_TRUE(html.contains(QStringLiteral("layerlab-cli recover --remove block:1 --method lowrank:8")));
    EXPECT_TRUE(
        html.contains(QStringLiteral("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")));

    const QString pdf = s.dir.filePath(QStringLiteral("report.pdf"));
    ASSERT_EQ(writePdfReport(content, pdf), QString());
    const QByteArray bytes = readAll(pdf);
    EXPECT_TRUE(bytes.startsWith("%PDF-"));
    EXPECT_GE(bytes.count("/Type /Page\n") + bytes.count("/Type /Page "), 2);
}

TEST(ReportDocument, BadInputsNameTheFile) {
    Study s;
    auto message = [](const std::vector<std::filesystem::path>& in) {
        try {
            reportFromFiles(in);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const QString broken = s.dir.filePath(QStringLiteral("broken.json"));
    std::ofstream(broken.toStdString()) << "{\"scores\": ";
    EXPECT_NE(message({broken.toStdString()}).find("broken.json: not valid JSON"), std::string::npos);
    const QString other = s.dir.filePath(QStringLiteral("other.json"));
    writeJson(other, {{"hello", 1}});
    EXPECT_NE(message({other.toStdString()}).find("other.json: not a LayerLab report"), std::string::npos);
    const QString elsewhere = s.dir.filePath(QStringLiteral("elsewhere.json"));
    writeJson(elsewhere, {{"model", "/models/another"}, {"loss", 1.0}, {"perplexity", 2.7}});
    auto both = s.files;
    both.emplace_back(elsewhere.toStdString());
    EXPECT_NE(message(both).find("a report covers one model"), std::string::npos);
    EXPECT_NE(message({s.files[0], "x.layerlab"}).find("give it alone"), std::string::npos);
    EXPECT_NE(message({}).find("no inputs"), std::string::npos);
    const QString huge = s.dir.filePath(QStringLiteral("huge.json"));
    writeJson(huge, {{"model", "/m"}, {"num_layers", 1000000000}, {"scores", json::object()}});
    EXPECT_NE(message({huge.toStdString()}).find("huge.json: num_layers 1000000000 is out of range"),
              std::string::npos);
    const QString settings = s.dir.filePath(QStringLiteral("settings.json"));
    writeJson(settings,
              {{"model", "/m"}, {"loss", 1.0}, {"device", "cpu"}, {"settings", json::array({1, 2})}});
    EXPECT_NE(message({settings.toStdString()}).find("settings.json: malformed eval report"),
              std::string::npos);

    const QString cost = s.dir.filePath(QStringLiteral("cost.json"));
    writeJson(cost, {{"model", "/m"}, {"loss", 1.0}, {"cost", json::array({1})}});
    EXPECT_NE(message({cost.toStdString()}).find("cost.json: malformed eval report"), std::string::npos);

    // NaN scores (written as null) are read; standard errors longer than the scores are drawn
    // only where there are scores.
    const QString odd = s.dir.filePath(QStringLiteral("odd.json"));
    writeJson(odd, {{"model", "/m"},
                    {"num_layers", 2},
                    {"scores", {{"shapley", {{"block", {0.5, nullptr}}}}}},
                    {"stderr", {{"shapley", {{"block", {0.1, 0.1, 0.1, 0.1}}}}}}});
    const auto content = reportFromFiles({odd.toStdString()});
    EXPECT_TRUE(std::isnan(content.scores.at("shapley", Unit::Block)[1]));
    EXPECT_EQ(writeHtmlReport(content, s.dir.filePath(QStringLiteral("odd.html"))), QString());
}

// `eval --generate` without data or tasks writes neither loss nor tasks: still an eval report.
// Two task files of one name in two folders stay two columns.
TEST(ReportDocument, GenerationOnlyEvalsAndTasksOfOneName) {
    QTemporaryDir dir;
    const QString eval = dir.filePath(QStringLiteral("generate.json"));
    writeJson(eval, {{"model", "/m"},
                     {"removed", ""},
                     {"removed_units", json::array()},
                     {"generation", {{"prompt", "In the beginning"}, {"text", " God"}, {"tokens", {5}}}}});
    std::vector<std::filesystem::path> inputs{eval.toStdString()};
    for (const char* folder : {"a", "b"}) {
        const QString file = dir.filePath(QStringLiteral("task_%1.json").arg(QLatin1String(folder)));
        writeJson(file, {{"model", "/m"},
                         {"num_layers", 2},
                         {"scores", {{"drop_task_loss", {{"block", {1.0, 2.0}}}}}},
                         {"settings",
                          {{"value_function", "task_loss"},
                           {"task_file", std::string("/data/") + folder + "/hellaswag.jsonl"}}}});
        inputs.emplace_back(file.toStdString());
    }
    const auto content = reportFromFiles(inputs);
    ASSERT_EQ(content.generations.size(), 1u);
    EXPECT_EQ(content.generations[0].tokens, 1);
    ASSERT_EQ(content.taskScores.size(), 2u);
    EXPECT_EQ(content.taskScores.count("hellaswag"), 1u);
    EXPECT_EQ(content.taskScores.count("b/hellaswag"), 1u);
}

TEST(ReportDocument, SessionGivesTheSameSectionsAsTheCliReports) {
    Session session;
    session.modelDir = "/models/tiny-llama";
    session.removed = "block:1";
    session.scores["cosine"] = {std::vector<double>{0.9, 0.25, 0.5}, {}, {}};
    session.evaluations.push_back({"baseline", 1, "", true, 3.0, 20.0, 100, 4, {}});
    session.recovery = {{"text", "shown"}, {"results", json::array()}};
    session.recovery["results"].push_back({{"removed", "block:1"},
                                           {"method", "bias"},
                                           {"full", {{"loss", 3.0}, {"perplexity", 20.0}}},
                                           {"removed_only", {{"loss", 3.5}, {"perplexity", 31.25}}},
                                           {"recovered", {{"loss", 3.25}, {"perplexity", 25.75}}}});
    session.pruningCurve = json::array();
    session.pruningCurve.push_back({{"metric", "cosine"},
                                    {"granularity", "block"},
                                    {"units_removed", 1},
                                    {"removed", "block:1"},
                                    {"parameter_fraction", 0.25},
                                    {"loss", 3.5},
                                    {"perplexity", 31.25}});
    // The workbench's task_loss is for the first task file.
    session.taskFiles = {"/data/next_verse.jsonl", "/data/other.jsonl"};
    session.scores["shapley_task_loss"] = {std::vector<double>{0.5, 0.25, 1.0}, {}, {}};
    session.evaluations.push_back({"latest", 1, "block:1", true, 3.5, 31.25, 100, 4, {}});
    session.cost = {{"parameters_total", 1000}, {"parameters_removed", 250}, {"blocks_removed", 1}};
    session.generations = json::array();
    session.generations.push_back({{"removed", "block:1"},
                                   {"prompt", "In the beginning"},
                                   {"text", " was"},
                                   {"tokens", 1},
                                   {"stop_reason", "eos"},
                                   {"temperature", 0.7},
                                   {"top_p", 0.9},
                                   {"seed", 3}});
    const auto content = reportFromSession(session, "study.layerlab");
    EXPECT_EQ(content.layers, 3);
    ASSERT_EQ(content.recoveries.size(), 1u);
    EXPECT_EQ(content.recoveries[0].recoveredPerplexity, 25.75);
    EXPECT_FALSE(content.scores.values.count("shapley_task_loss"));
    ASSERT_EQ(content.taskScores.count("next_verse"), 1u);
    EXPECT_EQ(content.taskScores.at("next_verse").at("shapley_task_loss", Unit::Block)[2], 1.0);
    QStringList ids;
    for (const auto& s : reportSections(content))
        ids << s.id;
    EXPECT_EQ(ids, (QStringList{"layer-map", "importance", "pruning-curves", "task-importance", "cost",
                                "recovery", "evaluations", "generations", "provenance"}));

    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("session.html"));
    ASSERT_EQ(writeHtmlReport(content, path), QString());
    const QString html = QString::fromUtf8(readAll(path));
    // Block 1 is removed: grey and struck through in the layer map, named in the removed column.
    EXPECT_TRUE(html.contains(
        QStringLiteral("<tr><td>1</td><td>block</td><td class=\"cell\" align=\"right\" bgcolor=\"#d8d8d8\" "
                       "style=\"color: #000000\"><s>0.25</s></td></tr>")));
    // One task: its bar chart too; the cost pairs the refined samples of the full model and block:1.
    EXPECT_TRUE(html.contains(QStringLiteral("<figure class=\"chart\" id=\"task-shapley_task_loss\">")));
    EXPECT_TRUE(html.contains(QStringLiteral("<td>perplexity</td><td>20</td><td>31.25</td><td>+11.25</td>")));
    EXPECT_TRUE(html.contains(QStringLiteral("temperature 0.7, top-p 0.9, seed 3; 1 tokens (eos)")));
}

namespace {

// Pixels of a chart that drew: not the page's white, and some of them coloured (bars, lines).
struct Ink {
    int64_t dark = 0, coloured = 0, total = 0;
};

Ink inkIn(const QImage& image, const QRect& box) {
    Ink ink;
    const QRect r = box.intersected(image.rect());
    for (int y = r.top(); y <= r.bottom(); ++y)
        for (int x = r.left(); x <= r.right(); ++x) {
            const QColor c = image.pixelColor(x, y);
            ++ink.total;
            if (c.lightness() < 235) ++ink.dark;
            if (c.hsvSaturation() > 80 && c.value() > 60) ++ink.coloured;
        }
    return ink;
}

QString tool(const char* name) {
    return QStandardPaths::findExecutable(QString::fromLatin1(name));
}

} // namespace

// The report opened in headless Chromium (Debian's `chromium`): every figure's box has ink and
// colour in the screenshot, and the page logs no console message. A script added for the test
// only reports the figures' boxes through --dump-dom.
TEST(ReportDocument, ChromiumDrawsEveryChart) {
    const QString chromium = tool("chromium");
    if (chromium.isEmpty()) GTEST_SKIP() << "chromium is not installed (tools/workbench.sh installs it)";
    Study s;
    auto content = reportFromFiles(s.files);
    const QString page = s.dir.filePath(QStringLiteral("report.html"));
    ASSERT_EQ(writeHtmlReport(content, page), QString());
    QByteArray probe = readAll(page);
    probe.replace(
        "</body>",
        "<pre id=\"boxes\"></pre><script>document.getElementById('boxes').textContent = "
        "[...document.querySelectorAll('figure.chart svg, figure.heatmap table')].map(e => { const r = "
        "e.getBoundingClientRect(); return [e.closest('figure').id, Math.round(r.left), "
        "Math.round(r.top + scrollY), Math.round(r.width), Math.round(r.height)].join(' '); "
        "}).join('\\n') + '\\nheight ' + document.documentElement.scrollHeight;</script></body>");
    const QString probePage = s.dir.filePath(QStringLiteral("probe.html"));
    {
        QFile f(probePage);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write(probe);
    }
    const QStringList common = {QStringLiteral("--headless"),
                                QStringLiteral("--no-sandbox"),
                                QStringLiteral("--disable-gpu"),
                                QStringLiteral("--hide-scrollbars"),
                                QStringLiteral("--user-data-dir=") +
                                    s.dir.filePath(QStringLiteral("chromium")),
                                QStringLiteral("--enable-logging=stderr"),
                                QStringLiteral("--v=0")};
    auto run = [&](const QStringList& extra, QByteArray* out, QByteArray* err) {
        QProcess p;
        p.start(chromium, common + extra);
        const bool done = p.waitForFinished(120000);
        if (out) *out = p.readAllStandardOutput();
        if (err) *err = p.readAllStandardError();
        return done && p.exitCode() == 0;
    };
    QByteArray dom, log;
    ASSERT_TRUE(run({QStringLiteral("--window-size=1000,1000"), QStringLiteral("--dump-dom"),
                     QStringLiteral("file://") + probePage},
                    &dom, nullptr));
    static const QRegularExpression boxLine(QStringLiteral("([a-z_-]+) (\\d+) (\\d+) (\\d+) (\\d+)"));
    const auto boxesText = QString::fromUtf8(dom);
    std::vector<std::pair<QString, QRect>> boxes;
    for (auto it = boxLine.globalMatch(boxesText); it.hasNext();) {
        const auto m = it.next();
        boxes.emplace_back(m.captured(1), QRect(m.captured(2).toInt(), m.captured(3).toInt(),
                                                m.captured(4).toInt(), m.captured(5).toInt()));
    }
    // 7 charts and 2 heatmaps (the layer map, layers x tasks).
    ASSERT_EQ(boxes.size(), 9u) << boxesText.right(400).toStdString();
    static const QRegularExpression heightLine(QStringLiteral("height (\\d+)"));
    const int height = heightLine.match(boxesText).captured(1).toInt();
    ASSERT_GT(height, 1000);

    const QString shot = s.dir.filePath(QStringLiteral("report.png"));
    ASSERT_TRUE(run({QStringLiteral("--window-size=1000,%1").arg(height),
                     QStringLiteral("--screenshot=") + shot, QStringLiteral("file://") + page},
                    nullptr, &log));
    EXPECT_FALSE(log.contains(":CONSOLE(")) << log.toStdString();
    const QImage image(shot);
    ASSERT_FALSE(image.isNull());
    for (const auto& [id, box] : boxes) {
        const auto ink = inkIn(image, box);
        EXPECT_GT(ink.dark, ink.total / 100) << id.toStdString() << ": the chart's box is blank";
        EXPECT_GT(ink.coloured, 50) << id.toStdString() << ": no bars, lines or points";
    }
    // Outside the charts, the page's margin stays white.
    EXPECT_EQ(inkIn(image, QRect(0, height / 2, 8, 200)).dark, 0);
}

// The PDF's pages as images (pdftoppm from poppler-utils): the charts drew on the first page.
TEST(ReportDocument, PdfPagesShowTheCharts) {
    const QString pdftoppm = tool("pdftoppm");
    if (pdftoppm.isEmpty())
        GTEST_SKIP() << "pdftoppm is not installed (tools/workbench.sh installs poppler-utils)";
    Study s;
    const QString pdf = s.dir.filePath(QStringLiteral("report.pdf"));
    ASSERT_EQ(writePdfReport(reportFromFiles(s.files), pdf), QString());
    QProcess p;
    p.start(pdftoppm, {QStringLiteral("-r"), QStringLiteral("60"), QStringLiteral("-png"),
                       QStringLiteral("-f"), QStringLiteral("1"), QStringLiteral("-l"), QStringLiteral("3"),
                       pdf, s.dir.filePath(QStringLiteral("page"))});
    ASSERT_TRUE(p.waitForFinished(60000));
    ASSERT_EQ(p.exitCode(), 0) << p.readAllStandardError().toStdString();
    const QImage first(s.dir.filePath(QStringLiteral("page-1.png")));
    ASSERT_FALSE(first.isNull());
    // Page 1: the title and the first two importance charts, each about a third of the page.
    const QRect upper(0, first.height() / 8, first.width(), first.height() / 3);
    const auto ink = inkIn(first, upper);
    EXPECT_GT(ink.dark, ink.total / 50);
    EXPECT_GT(ink.coloured, ink.total / 1000);
    EXPECT_TRUE(QFile::exists(s.dir.filePath(QStringLiteral("page-2.png"))));
}
