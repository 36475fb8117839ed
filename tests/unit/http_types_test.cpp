// url_decode, RequestContext::query_param / param / json_body and the error response shape.
#include <gtest/gtest.h>

#include <string>

#include "http/types.h"

namespace lms::http {
namespace {

TEST(UrlDecode, PlainTextIsUnchanged) {
  EXPECT_EQ(url_decode(""), std::string());
  EXPECT_EQ(url_decode("abc-_.~123"), std::string("abc-_.~123"));
}

TEST(UrlDecode, PercentEscapes) {
  EXPECT_EQ(url_decode("a%20b"), std::string("a b"));
  EXPECT_EQ(url_decode("%41%42%43"), std::string("ABC"));
  EXPECT_EQ(url_decode("%2b%2B"), std::string("++"));  // both cases of hex digits
  EXPECT_EQ(url_decode("%26%3D%25"), std::string("&=%"));
  EXPECT_EQ(url_decode("%e2%82%ac"), std::string("\xe2\x82\xac"));  // euro sign, UTF-8
  EXPECT_EQ(url_decode("%00"), std::string(1, '\0'));
  EXPECT_EQ(url_decode("x%41"), std::string("xA"));  // escape at the very end
}

TEST(UrlDecode, PlusIsSpace) {
  EXPECT_EQ(url_decode("a+b+c"), std::string("a b c"));
  EXPECT_EQ(url_decode("+"), std::string(" "));
}

TEST(UrlDecode, MalformedEscapesAreRejected) {
  for (std::string_view bad : {"%", "%4", "abc%", "abc%4", "%zz", "%g0", "%0g", "a%2", "%%41", "% 41"})
    EXPECT_FALSE(url_decode(bad).has_value()) << bad;
}

struct ContextFixture {
  Request request{bhttp::verb::get, "/x", 11};
  RequestContext make(std::string_view query) {
    return RequestContext{.request = request, .path = "/x", .query = query};
  }
};

TEST(QueryParam, FindsDecodedValues) {
  ContextFixture f;
  auto ctx = f.make("q=hello+world&email=a%40b.com&empty=&flag&n=42");
  EXPECT_EQ(ctx.query_param("q"), std::string("hello world"));
  EXPECT_EQ(ctx.query_param("email"), std::string("a@b.com"));
  EXPECT_EQ(ctx.query_param("n"), std::string("42"));
  EXPECT_EQ(ctx.query_param("empty"), std::string());
  EXPECT_EQ(ctx.query_param("flag"), std::string());
  EXPECT_FALSE(ctx.query_param("missing").has_value());
  EXPECT_FALSE(ctx.query_param("e").has_value());  // no prefix matching
  EXPECT_FALSE(ctx.query_param("Q").has_value());  // names are case-sensitive
}

TEST(QueryParam, KeysAreDecodedToo) {
  ContextFixture f;
  auto ctx = f.make("first%20name=Ann&last+name=Lee");
  EXPECT_EQ(ctx.query_param("first name"), std::string("Ann"));
  EXPECT_EQ(ctx.query_param("last name"), std::string("Lee"));
}

TEST(QueryParam, FirstOccurrenceWins) {
  ContextFixture f;
  auto ctx = f.make("a=1&a=2");
  EXPECT_EQ(ctx.query_param("a"), std::string("1"));
}

TEST(QueryParam, ValueMayContainEquals) {
  ContextFixture f;
  auto ctx = f.make("token=abc==&x=%3D");
  EXPECT_EQ(ctx.query_param("token"), std::string("abc=="));
  EXPECT_EQ(ctx.query_param("x"), std::string("="));
}

TEST(QueryParam, EmptyQuery) {
  ContextFixture f;
  auto ctx = f.make("");
  EXPECT_FALSE(ctx.query_param("a").has_value());
  auto amps = f.make("&&");
  EXPECT_FALSE(amps.query_param("a").has_value());
}

void expect_400(const RequestContext& ctx, std::string_view name) {
  try {
    (void)ctx.query_param(name);
    ADD_FAILURE() << "expected ApiError 400 for " << name;
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.code(), "bad_request");
  }
}

TEST(QueryParam, MalformedEscapeThrows400) {
  ContextFixture f;
  auto bad_value = f.make("q=50%&x=1");
  expect_400(bad_value, "q");
  auto bad_value2 = f.make("q=%zz");
  expect_400(bad_value2, "q");
  // A malformed key before the wanted one is reported too.
  auto bad_key = f.make("%g=1&q=2");
  expect_400(bad_key, "q");
}

TEST(RequestContextParam, ReturnsPathParameterOrEmpty) {
  ContextFixture f;
  auto ctx = f.make("");
  ctx.params = {{"org", "o1"}, {"id", "u2"}};
  EXPECT_EQ(ctx.param("org"), "o1");
  EXPECT_EQ(ctx.param("id"), "u2");
  EXPECT_EQ(ctx.param("nope"), "");
}

TEST(JsonBody, RequiresJsonContentType) {
  ContextFixture f;
  f.request.body() = R"({"a":1})";
  auto ctx = f.make("");
  try {
    (void)ctx.json_body();
    ADD_FAILURE() << "expected 415 without a content type";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 415);
  }
  f.request.set(bhttp::field::content_type, "text/plain");
  try {
    (void)ctx.json_body();
    ADD_FAILURE() << "expected 415 for text/plain";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 415);
  }
  f.request.set(bhttp::field::content_type, "Application/JSON; charset=utf-8");
  auto doc = ctx.json_body();
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(doc["a"].GetInt(), 1);
}

TEST(JsonBody, MalformedOrNonObjectIs400) {
  ContextFixture f;
  f.request.set(bhttp::field::content_type, "application/json");
  auto ctx = f.make("");
  for (std::string body : {"", "{", "[1,2]", "\"str\"", "{\"a\":1} trailing", "{'a':1}"}) {
    f.request.body() = body;
    try {
      (void)ctx.json_body();
      ADD_FAILURE() << "expected 400 for " << body;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400) << body;
    }
  }
}

TEST(ErrorResponse, ContractShape) {
  auto res = error_response(ApiError::validation("email", "not a valid email address"));
  EXPECT_EQ(res.result_int(), 422);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  rapidjson::Document doc;
  doc.Parse(res.body().c_str());
  ASSERT_TRUE(doc.IsObject()) << res.body();
  EXPECT_STREQ(doc["error"]["code"].GetString(), "validation_failed");
  ASSERT_TRUE(doc["error"]["details"].IsArray());
  EXPECT_STREQ(doc["error"]["details"][0]["field"].GetString(), "email");

  auto unauthorized = error_response(ApiError::unauthorized());
  EXPECT_EQ(unauthorized.result_int(), 401);
  EXPECT_EQ(unauthorized[bhttp::field::www_authenticate], "Bearer");
}

}  // namespace
}  // namespace lms::http
