#include "common/error.h"
#include "data/multiple_choice_task.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

using namespace layerlab;
using layerlab::test::TempDir;
using layerlab::test::writeText;

namespace {

std::string item(int i) {
    return "{\"context\": \"q" + std::to_string(i) +
           "\", \"choices\": [\"a\", \"b\"], \"label\": " + std::to_string(i % 2) + "}\n";
}

void expectTaskError(const TempDir& dir, const std::string& content, int64_t line,
                     const std::string& fragment) {
    test::expectLineError(dir, content, line, fragment,
                          [](const std::filesystem::path& path) { loadMultipleChoiceTask(path); });
}

} // namespace

TEST(MultipleChoiceTask, ParsesItems) {
    TempDir dir;
    writeText(dir / "arc_mini.jsonl",
              "{\"context\": \"The sky is\", \"choices\": [\" blue\", \" green\", \" loud\"], \"label\": 0, "
              "\"id\": \"q-1\"}\n"
              "\n"
              "{\"context\": \"\", \"choices\": [\"yes\"], \"label\": 0, \"id\": 42, \"extra\": [1]}\r\n"
              "{\"choices\": [\"x\", \"y\"], \"label\": 1, \"context\": \"Pick\"}");
    const auto task = loadMultipleChoiceTask(dir / "arc_mini.jsonl");
    EXPECT_EQ(task.name, "arc_mini");
    ASSERT_EQ(task.items.size(), 3u);
    EXPECT_EQ(task.items[0].id, "q-1");
    EXPECT_EQ(task.items[0].context, "The sky is");
    EXPECT_EQ(task.items[0].choices, (std::vector<std::string>{" blue", " green", " loud"}));
    EXPECT_EQ(task.items[0].label, 0);
    EXPECT_EQ(task.items[0].line, 1);
    EXPECT_EQ(task.items[1].id, "42");
    EXPECT_EQ(task.items[1].context, "");
    EXPECT_EQ(task.items[1].line, 3);
    EXPECT_EQ(task.items[2].id, "4"); // no id: the line number
    EXPECT_EQ(task.items[2].label, 1);
    EXPECT_EQ(task.items[2].choices[1], "y");

    const auto& d = task.description;
    EXPECT_EQ(d.format, "multiple-choice");
    EXPECT_EQ(d.task, "arc_mini");
    EXPECT_EQ(d.items, 3);
    EXPECT_EQ(d.available, 3);
    const auto j = toJson(d);
    EXPECT_EQ(j.at("task"), "arc_mini");
    EXPECT_EQ(j.at("items"), 3);
    EXPECT_EQ(j.at("format"), "multiple-choice");
    EXPECT_EQ(j.at("sampled"), false);
    EXPECT_FALSE(j.contains("sequences"));
}

TEST(MultipleChoiceTask, MalformedLinesNameFileAndLine) {
    TempDir dir;
    const std::string ok = item(0);
    expectTaskError(dir, ok + "{\"context\": \"a\", \"choices\": [\"b\"], \"label\": 0\n", 2, "invalid JSON");
    expectTaskError(dir, ok + ok + "\"just text\"\n", 3, "expected a JSON object");
    expectTaskError(dir, "{\"choices\": [\"a\"], \"label\": 0}\n", 1, "missing field \"context\"");
    expectTaskError(dir, "{\"context\": 1, \"choices\": [\"a\"], \"label\": 0}\n", 1,
                    "\"context\" must be a string");
    expectTaskError(dir, ok + "{\"context\": \"c\", \"label\": 0}\n", 2, "missing field \"choices\"");
    expectTaskError(dir, "{\"context\": \"c\", \"choices\": \"a\", \"label\": 0}\n", 1,
                    "must be a list of strings");
    expectTaskError(dir, "{\"context\": \"c\", \"choices\": [], \"label\": 0}\n", 1, "\"choices\" is empty");
    expectTaskError(dir, "{\"context\": \"c\", \"choices\": [\"a\", 2], \"label\": 0}\n", 1,
                    "choices[1] must be a string");
    expectTaskError(dir, "{\"context\": \"c\", \"choices\": [\"a\", \"\"], \"label\": 0}\n", 1,
                    "choices[1] is empty");
    expectTaskError(dir, "\n\n\n\n{\"context\": \"c\", \"choices\": [\"a\"]}\n", 5,
                    "missing field \"label\"");
    expectTaskError(dir, "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"label\": 1.0}\n", 1,
                    "\"label\" must be an integer");
    expectTaskError(dir, "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"label\": true}\n", 1,
                    "\"label\" must be an integer");
    expectTaskError(dir, "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"label\": \"1\"}\n", 1,
                    "\"label\" must be an integer");
    expectTaskError(dir, ok + "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"label\": 2}\n", 2,
                    "\"label\" 2 is out of range (2 choices, numbered 0 to 1)");
    expectTaskError(dir, "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"label\": -1}\n", 1,
                    "\"label\" -1 is out of range");
    expectTaskError(dir, "{\"context\": \"c\", \"choices\": [\"a\"], \"label\": 0, \"id\": [1]}\n", 1,
                    "\"id\" must be a string or an integer");
}

TEST(MultipleChoiceTask, EmptyFileIsAnError) {
    TempDir dir;
    for (const std::string content : {"", "\n \n\t\n"}) {
        writeText(dir / "empty.jsonl", content);
        try {
            loadMultipleChoiceTask(dir / "empty.jsonl");
            ADD_FAILURE();
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("empty.jsonl: no items"), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW(loadMultipleChoiceTask(dir / "missing.jsonl"), Error);
}

TEST(MultipleChoiceTask, MaxItemsSamplesDeterministically) {
    TempDir dir;
    std::string content;
    for (int i = 0; i < 40; ++i)
        content += item(i);
    writeText(dir / "t.jsonl", content);
    auto contexts = [](const MultipleChoiceTask& t) {
        std::vector<std::string> v;
        for (const auto& it : t.items)
            v.push_back(it.context);
        return v;
    };
    MultipleChoiceOptions o;
    o.maxItems = 5;
    o.seed = 11;
    const auto a = loadMultipleChoiceTask(dir / "t.jsonl", o);
    ASSERT_EQ(a.items.size(), 5u);
    EXPECT_TRUE(a.description.sampled);
    EXPECT_EQ(a.description.available, 40);
    EXPECT_EQ(a.description.seed, 11u);
    for (size_t k = 1; k < a.items.size(); ++k)
        EXPECT_LT(a.items[k - 1].line, a.items[k].line); // file order
    for (const auto& it : a.items)
        EXPECT_EQ(it.context, "q" + std::to_string(it.line - 1));
    EXPECT_EQ(contexts(loadMultipleChoiceTask(dir / "t.jsonl", o)), contexts(a));
    o.seed = 12;
    EXPECT_NE(contexts(loadMultipleChoiceTask(dir / "t.jsonl", o)), contexts(a));
    o.maxItems = 40;
    EXPECT_EQ(loadMultipleChoiceTask(dir / "t.jsonl", o).items.size(), 40u);
    o.maxItems = 0;
    EXPECT_FALSE(loadMultipleChoiceTask(dir / "t.jsonl", o).description.sampled);
}

TEST(MultipleChoiceTask, CancelStops) {
    TempDir dir;
    writeText(dir / "t.jsonl", item(0));
    CancelToken token;
    token.cancel();
    EXPECT_THROW(loadMultipleChoiceTask(dir / "t.jsonl", {}, Progress({}, token)), Cancelled);
}
